//! The Users-tab guards (SPEC S2.2 G1, G2, G3, G7) as a table.

use hubkeep_shared::{
    AccessInputs, Elevation, HubAccess, LevelFacts, ProblemCode, UserAction, UserChange, UserRow,
    allowed_user_actions, check_user_change,
};

const ADMIN_LEVEL: LevelFacts = LevelFacts {
    is_active: true,
    hub_menu: true,
    qbo_extension_admin: true,
    other_extensions_admin: true,
    resource_impersonation: true,
};
const TECH_LEVEL: LevelFacts = LevelFacts {
    is_active: true,
    hub_menu: true,
    qbo_extension_admin: false,
    other_extensions_admin: false,
    resource_impersonation: false,
};

fn row(
    is_self: bool,
    is_primary: bool,
    level: LevelFacts,
    elevation: Elevation,
    in_set: bool,
) -> UserRow {
    UserRow {
        is_self,
        inputs: AccessInputs {
            user_active: true,
            resource_active: true,
            level,
            is_primary,
            elevation,
            level_in_elevated_set: in_set,
        },
    }
}

#[test]
fn g7_only_elevated_callers_change_users() {
    let target = row(false, false, TECH_LEVEL, Elevation::Inherit, false);
    for caller in [HubAccess::None, HubAccess::Limited] {
        assert_eq!(
            check_user_change(caller, &target, UserChange::Deactivate),
            Err(ProblemCode::ElevatedAccessRequired)
        );
        assert!(allowed_user_actions(caller, &target).is_empty());
    }
}

#[test]
fn g1_an_elevated_user_cannot_deactivate_themselves() {
    let me = row(true, false, ADMIN_LEVEL, Elevation::Granted, false);
    assert_eq!(
        check_user_change(HubAccess::Elevated, &me, UserChange::Deactivate),
        Err(ProblemCode::SelfDeactivationForbidden)
    );
    assert!(!allowed_user_actions(HubAccess::Elevated, &me).contains(&UserAction::Deactivate));
}

#[test]
fn g2_an_elevated_user_cannot_remove_their_own_elevation() {
    let granted = row(true, false, ADMIN_LEVEL, Elevation::Granted, false);
    for (elevation, expected) in [
        (Elevation::Revoked, Err(ProblemCode::SelfDemotionForbidden)),
        // Inherit would leave them limited: their level is not in the set.
        (Elevation::Inherit, Err(ProblemCode::SelfDemotionForbidden)),
    ] {
        assert_eq!(
            check_user_change(
                HubAccess::Elevated,
                &granted,
                UserChange::SetElevation(elevation)
            ),
            expected
        );
    }
    // Elevated through their level, a grant of their own keeps them elevated: allowed.
    let by_level = row(true, false, ADMIN_LEVEL, Elevation::Inherit, true);
    assert_eq!(
        check_user_change(
            HubAccess::Elevated,
            &by_level,
            UserChange::SetElevation(Elevation::Granted)
        ),
        Ok(())
    );
    let by_both = row(true, false, ADMIN_LEVEL, Elevation::Granted, true);
    assert_eq!(
        check_user_change(
            HubAccess::Elevated,
            &by_both,
            UserChange::SetElevation(Elevation::Inherit)
        ),
        Ok(()),
        "still elevated through the Access tab"
    );
    assert_eq!(
        allowed_user_actions(HubAccess::Elevated, &by_both),
        [UserAction::InheritElevation]
    );
}

#[test]
fn g3_nobody_changes_the_primary_user() {
    let primary = row(false, true, ADMIN_LEVEL, Elevation::Inherit, false);
    for change in [
        UserChange::Deactivate,
        UserChange::Activate,
        UserChange::SetElevation(Elevation::Revoked),
        UserChange::SetElevation(Elevation::Granted),
    ] {
        assert_eq!(
            check_user_change(HubAccess::Elevated, &primary, change),
            Err(ProblemCode::PrimaryUserImmutable),
            "{change:?}"
        );
    }
    assert!(allowed_user_actions(HubAccess::Elevated, &primary).is_empty());
}

#[test]
fn s2_granted_needs_a_level_eligible_for_elevation() {
    let tech = row(false, false, TECH_LEVEL, Elevation::Inherit, false);
    assert_eq!(
        check_user_change(
            HubAccess::Elevated,
            &tech,
            UserChange::SetElevation(Elevation::Granted)
        ),
        Err(ProblemCode::LevelNotEligible)
    );
    assert_eq!(
        allowed_user_actions(HubAccess::Elevated, &tech),
        [UserAction::Deactivate, UserAction::RevokeElevation]
    );
}
