//! SPEC S1 eligibility and the S2 access-level pseudo-code.

use hubkeep_shared::*;
use proptest::prelude::*;

/// The S2 pseudo-code transcribed literally, as an independent reference for the tests.
fn spec_access(i: &AccessInputs) -> HubAccess {
    let l = &i.level;
    let eligible_for_access = l.is_active && l.hub_menu;
    let eligible_for_elevation = eligible_for_access
        && l.qbo_extension_admin
        && l.other_extensions_admin
        && l.resource_impersonation;
    if !i.user_active || !i.resource_active || !eligible_for_access {
        HubAccess::None
    } else if i.is_primary {
        if eligible_for_elevation {
            HubAccess::Elevated
        } else {
            HubAccess::Limited
        }
    } else if !eligible_for_elevation {
        HubAccess::Limited
    } else if i.elevation == Elevation::Granted {
        HubAccess::Elevated
    } else if i.elevation == Elevation::Revoked {
        HubAccess::Limited
    } else if i.level_in_elevated_set {
        HubAccess::Elevated
    } else {
        HubAccess::Limited
    }
}

fn level_from_bits(bits: u8) -> LevelFacts {
    LevelFacts {
        is_active: bits & 1 != 0,
        hub_menu: bits & 2 != 0,
        qbo_extension_admin: bits & 4 != 0,
        other_extensions_admin: bits & 8 != 0,
        resource_impersonation: bits & 16 != 0,
    }
}

fn inputs() -> impl Strategy<Value = AccessInputs> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..32,
        any::<bool>(),
        prop_oneof![
            Just(Elevation::Inherit),
            Just(Elevation::Granted),
            Just(Elevation::Revoked)
        ],
        any::<bool>(),
    )
        .prop_map(|(ua, ra, bits, primary, elevation, in_set)| AccessInputs {
            user_active: ua,
            resource_active: ra,
            level: level_from_bits(bits),
            is_primary: primary,
            elevation,
            level_in_elevated_set: in_set,
        })
}

#[test]
fn s2_access_level_equals_the_spec_pseudo_code_on_every_input() {
    let elevations = [Elevation::Inherit, Elevation::Granted, Elevation::Revoked];
    let mut checked = 0;
    for bits in 0u8..32 {
        for flags in 0u8..16 {
            for elevation in elevations {
                let i = AccessInputs {
                    user_active: flags & 1 != 0,
                    resource_active: flags & 2 != 0,
                    level: level_from_bits(bits),
                    is_primary: flags & 4 != 0,
                    elevation,
                    level_in_elevated_set: flags & 8 != 0,
                };
                assert_eq!(access_level(&i), spec_access(&i), "{i:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 32 * 16 * 3);
}

#[test]
fn s1_eligibility_needs_no_license_type_only_the_level_facts() {
    let admin = level_from_bits(31);
    assert!(admin.eligible_for_access() && admin.eligible_for_elevation());
    assert!(admin.missing_for_elevation().is_empty());
    let no_impersonation = LevelFacts {
        resource_impersonation: false,
        ..admin
    };
    assert!(no_impersonation.eligible_for_access());
    assert!(!no_impersonation.eligible_for_elevation());
    assert_eq!(
        no_impersonation.missing_for_elevation(),
        vec![LevelFact::ResourceImpersonation]
    );
    let inactive = LevelFacts {
        is_active: false,
        hub_menu: false,
        ..admin
    };
    assert_eq!(
        inactive.missing_for_access(),
        vec![LevelFact::IsActive, LevelFact::HubMenu]
    );
}

#[test]
fn s2_the_access_source_explains_each_outcome() {
    let admin = level_from_bits(31);
    let base = AccessInputs {
        user_active: true,
        resource_active: true,
        level: admin,
        is_primary: false,
        elevation: Elevation::Inherit,
        level_in_elevated_set: false,
    };
    let src = |i: AccessInputs| access_decision(&i).source;
    assert_eq!(src(base), AccessSource::SecurityLevelDefault);
    assert_eq!(
        src(AccessInputs {
            level_in_elevated_set: true,
            ..base
        }),
        AccessSource::SecurityLevelGrant
    );
    assert_eq!(
        src(AccessInputs {
            elevation: Elevation::Granted,
            ..base
        }),
        AccessSource::UserGrant
    );
    assert_eq!(
        src(AccessInputs {
            elevation: Elevation::Revoked,
            level_in_elevated_set: true,
            ..base
        }),
        AccessSource::UserRevoked
    );
    assert_eq!(
        src(AccessInputs {
            is_primary: true,
            ..base
        }),
        AccessSource::Primary
    );
    assert_eq!(
        src(AccessInputs {
            user_active: false,
            ..base
        }),
        AccessSource::UserDeactivated
    );
    assert_eq!(
        src(AccessInputs {
            resource_active: false,
            ..base
        }),
        AccessSource::ResourceInactive
    );
}

proptest! {
    #[test]
    fn s2_access_is_none_when_user_or_resource_is_inactive_or_the_level_lacks_hub_menu(i in inputs()) {
        if !i.user_active || !i.resource_active || !i.level.hub_menu || !i.level.is_active {
            prop_assert_eq!(access_level(&i), HubAccess::None);
        } else {
            prop_assert_ne!(access_level(&i), HubAccess::None);
        }
    }

    #[test]
    fn s2_access_is_never_elevated_when_the_level_is_not_eligible_for_elevation(i in inputs()) {
        if !i.level.eligible_for_elevation() {
            prop_assert_ne!(access_level(&i), HubAccess::Elevated);
        }
    }

    #[test]
    fn s2_the_primary_user_is_elevated_exactly_when_their_level_is_eligible(i in inputs()) {
        let primary = AccessInputs { is_primary: true, user_active: true, resource_active: true, ..i };
        let expected = if i.level.eligible_for_elevation() {
            HubAccess::Elevated
        } else if i.level.eligible_for_access() {
            HubAccess::Limited
        } else {
            HubAccess::None
        };
        prop_assert_eq!(access_level(&primary), expected);
    }

    #[test]
    fn s2_1_higher_access_never_allows_less(i in inputs()) {
        let access = access_level(&i);
        for action in allowed_hub_actions(access) {
            prop_assert!(hub_allows(HubAccess::Elevated, action));
        }
    }
}
