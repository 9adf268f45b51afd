//! What an elevated user may do to a user on the Users tab (SPEC S2, S2.2 G1–G3). The API
//! enforces with [`check_user_change`]; the console shows the buttons
//! [`allowed_user_actions`] returns, computed from the same function.

use crate::access::{AccessInputs, Elevation, HubAccess, access_level};
use crate::problem::ProblemCode;

/// One change to a hub user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserChange {
    Activate,
    Deactivate,
    SetElevation(Elevation),
}

wire_enum! {
    /// The Users-tab buttons.
    pub enum UserAction {
        Activate,
        Deactivate,
        /// Set `elevation` to `granted`.
        GrantElevation,
        /// Set `elevation` to `revoked`.
        RevokeElevation,
        /// Set `elevation` back to `inherit`.
        InheritElevation,
    }
}

impl UserAction {
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Deactivate => "deactivate",
            Self::GrantElevation => "grant_elevation",
            Self::RevokeElevation => "revoke_elevation",
            Self::InheritElevation => "inherit_elevation",
        }
    }

    /// The change this button makes.
    pub const fn change(self) -> UserChange {
        match self {
            Self::Activate => UserChange::Activate,
            Self::Deactivate => UserChange::Deactivate,
            Self::GrantElevation => UserChange::SetElevation(Elevation::Granted),
            Self::RevokeElevation => UserChange::SetElevation(Elevation::Revoked),
            Self::InheritElevation => UserChange::SetElevation(Elevation::Inherit),
        }
    }
}

/// The target user as S2 sees them, and whether they are the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserRow {
    pub is_self: bool,
    pub inputs: AccessInputs,
}

/// Whether `caller` may make `change` to the user of `row`; the error is the problem code
/// the API answers with.
///
/// Order: the caller must be elevated (G7); nobody changes the primary user (G3); nobody
/// deactivates themselves (G1, checked first for a self-deactivation so the message fits
/// the action); a grant needs a level eligible for elevation; a change to one's own
/// elevation must leave one elevated (G2).
pub fn check_user_change(
    caller: HubAccess,
    row: &UserRow,
    change: UserChange,
) -> Result<(), ProblemCode> {
    if caller != HubAccess::Elevated {
        return Err(ProblemCode::ElevatedAccessRequired);
    }
    if change == UserChange::Deactivate && row.is_self {
        return Err(ProblemCode::SelfDeactivationForbidden);
    }
    if row.inputs.is_primary {
        return Err(ProblemCode::PrimaryUserImmutable);
    }
    if let UserChange::SetElevation(elevation) = change {
        if elevation == Elevation::Granted && !row.inputs.level.eligible_for_elevation() {
            return Err(ProblemCode::LevelNotEligible);
        }
        if row.is_self {
            let after = AccessInputs {
                elevation,
                ..row.inputs
            };
            if access_level(&after) != HubAccess::Elevated {
                return Err(ProblemCode::SelfDemotionForbidden);
            }
        }
    }
    Ok(())
}

/// The buttons to show on a row: allowed changes that would change something.
pub fn allowed_user_actions(caller: HubAccess, row: &UserRow) -> Vec<UserAction> {
    <UserAction as strum::VariantArray>::VARIANTS
        .iter()
        .copied()
        .filter(|action| {
            let changes_something = match action.change() {
                UserChange::Activate => !row.inputs.user_active,
                UserChange::Deactivate => row.inputs.user_active,
                UserChange::SetElevation(e) => row.inputs.elevation != e,
            };
            changes_something && check_user_change(caller, row, action.change()).is_ok()
        })
        .collect()
}
