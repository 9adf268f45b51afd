//! The permission matrices, stated cell by cell from SPEC S2.1, S4 and S5. These tables are
//! an independent copy of the specification: they never loop over the code's own tables, so
//! a wrong cell in the code fails here.

use hubkeep_shared::*;
use strum::VariantArray;

fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .unwrap_or_else(|e| panic!("{name:?} is not a known value: {e}"))
}

/// `(action, limited, elevated)`, SPEC S2.1 row by row.
const HUB_MATRIX: &[(&str, bool, bool)] = &[
    ("sign_in", true, true),
    ("view_sync_status", true, true),
    ("view_activity_log", true, true),
    ("run_connection", true, true),
    ("manage_own_tokens", true, true),
    ("view_settings", true, true),
    ("create_connection", false, true),
    ("manage_access", false, true),
    ("manage_users", false, true),
    ("edit_settings", false, true),
    ("govern_connections", false, true),
    ("manage_all_tokens", false, true),
    ("refresh_users", false, true),
];

#[test]
fn s2_1_hub_matrix_matches_the_spec_cell_by_cell() {
    for &(name, limited, elevated) in HUB_MATRIX {
        let action: HubAction = parse(name);
        assert!(!hub_allows(HubAccess::None, action), "none allows {name}");
        assert_eq!(
            hub_allows(HubAccess::Limited, action),
            limited,
            "limited × {name}"
        );
        assert_eq!(
            hub_allows(HubAccess::Elevated, action),
            elevated,
            "elevated × {name}"
        );
    }
    assert_eq!(
        HUB_MATRIX.len(),
        HubAction::VARIANTS.len(),
        "every hub action must have a row in this test"
    );
}

/// `(action, "owner business_admin it_admin read_only")`, SPEC S5 row by row.
const CONNECTION_MATRIX: &[(&str, &str)] = &[
    ("view", "✓ ✓ ✓ ✓"),
    ("pay", "✓ – – –"),
    ("cancel", "✓ – – –"),
    ("transfer_ownership", "✓ – – –"),
    ("change_postgres_db", "✓ – – –"),
    ("disconnect_endpoint", "✓ ✓ – –"),
    ("rename", "✓ ✓ – –"),
    ("manage_views", "✓ ✓ – –"),
    ("change_locked_period_export", "✓ ✓ – –"),
    ("change_reporting_currency", "✓ ✓ – –"),
    ("change_forecast_budget", "✓ ✓ – –"),
    ("invite_business_admin", "✓ ✓ – –"),
    ("reconnect_endpoint", "✓ ✓ ✓ –"),
    ("change_timezone", "✓ ✓ ✓ –"),
    ("hide_sync_records", "✓ ✓ ✓ –"),
    ("invite_it_admin", "✓ ✓ ✓ –"),
    ("invite_read_only", "✓ ✓ ✓ –"),
    ("run_manually", "✓ ✓ ✓ –"),
    ("group", "✓ ✓ ✓ –"),
    ("ungroup", "✓ ✓ ✓ –"),
];

const ROLE_COLUMNS: [&str; 4] = ["owner", "business_admin", "it_admin", "read_only"];

#[test]
fn s5_connection_matrix_matches_the_spec_cell_by_cell() {
    for &(name, cells) in CONNECTION_MATRIX {
        let action: ConnectionAction = parse(name);
        let cells: Vec<&str> = cells.split(' ').collect();
        assert_eq!(cells.len(), 4, "row {name}");
        for (role_name, cell) in ROLE_COLUMNS.iter().zip(cells) {
            let role: ConnectionRole = parse(role_name);
            assert_eq!(
                role_allows(role, action),
                cell == "✓",
                "{role_name} × {name}"
            );
        }
    }
    assert_eq!(CONNECTION_MATRIX.len(), ConnectionAction::VARIANTS.len());
    assert_eq!(ROLE_COLUMNS.len(), ConnectionRole::VARIANTS.len());
}

/// `(kind, source, target, views, financial settings, postgres db)`, SPEC S4.
const KINDS: &[(&str, &str, &str, bool, bool, bool)] = &[
    (
        "autotask_quickbooks",
        "autotask",
        "quickbooks_online",
        false,
        false,
        false,
    ),
    ("autotask_xero", "autotask", "xero", false, true, false),
    ("xero_power_bi", "xero", "power_bi", true, true, true),
    (
        "quickbooks_power_bi",
        "quickbooks_online",
        "power_bi",
        true,
        true,
        true,
    ),
];

#[test]
fn s4_kind_capabilities_match_the_spec() {
    for &(name, source, target, views, financial, postgres) in KINDS {
        let kind: ConnectionKind = parse(name);
        assert_eq!(kind.source(), parse::<System>(source), "{name} source");
        assert_eq!(kind.target(), parse::<System>(target), "{name} target");
        let caps = kind.capabilities();
        assert_eq!(caps.views, views, "{name} views");
        assert_eq!(
            caps.financial_settings, financial,
            "{name} financial settings"
        );
        assert_eq!(caps.postgres_db, postgres, "{name} postgres db");
    }
    assert_eq!(KINDS.len(), ConnectionKind::VARIANTS.len());
}

#[test]
fn s4_actions_on_settings_a_kind_lacks_are_not_allowed_even_to_the_owner() {
    let owner = [ConnectionRole::Owner];
    let cases: &[(&str, &str, bool)] = &[
        ("autotask_quickbooks", "manage_views", false),
        ("autotask_quickbooks", "change_reporting_currency", false),
        ("autotask_quickbooks", "change_postgres_db", false),
        ("autotask_xero", "manage_views", false),
        ("autotask_xero", "change_locked_period_export", true),
        ("autotask_xero", "change_forecast_budget", true),
        ("autotask_xero", "change_postgres_db", false),
        ("xero_power_bi", "manage_views", true),
        ("xero_power_bi", "change_postgres_db", true),
        ("quickbooks_power_bi", "change_reporting_currency", true),
        ("quickbooks_power_bi", "change_postgres_db", true),
        ("autotask_quickbooks", "run_manually", true),
    ];
    for &(kind, action, allowed) in cases {
        let kind: ConnectionKind = parse(kind);
        let action: ConnectionAction = parse(action);
        assert_eq!(kind.supports(action), allowed, "{kind} supports {action}");
        assert_eq!(
            connection_allows(&owner, kind, action),
            allowed,
            "{kind} {action}"
        );
    }
}

#[test]
fn s5_roles_combine_as_a_union_and_no_role_allows_nothing() {
    let kind = ConnectionKind::XeroPowerBi;
    for action in ConnectionAction::VARIANTS {
        assert!(
            !connection_allows(&[], kind, *action),
            "no role allows {action}"
        );
    }
    let it_and_read = [ConnectionRole::ItAdmin, ConnectionRole::ReadOnly];
    assert!(connection_allows(
        &it_and_read,
        kind,
        ConnectionAction::ChangeTimezone
    ));
    assert!(!connection_allows(
        &it_and_read,
        kind,
        ConnectionAction::Rename
    ));
    let ba_and_it = [ConnectionRole::BusinessAdmin, ConnectionRole::ItAdmin];
    assert!(connection_allows(
        &ba_and_it,
        kind,
        ConnectionAction::Rename
    ));
    assert!(!connection_allows(&ba_and_it, kind, ConnectionAction::Pay));
}

/// `(inviter, "owner business_admin it_admin read_only")`: which roles each may invite.
const INVITE_LADDER: &[(&str, &str)] = &[
    ("owner", "✓ ✓ ✓ ✓"),
    ("business_admin", "– ✓ ✓ ✓"),
    ("it_admin", "– – ✓ ✓"),
    ("read_only", "– – – –"),
];

#[test]
fn s5_1_invitations_only_go_down_the_ladder_and_only_the_owner_invites_an_owner() {
    for &(inviter, cells) in INVITE_LADDER {
        let inviter: ConnectionRole = parse(inviter);
        for (role_name, cell) in ROLE_COLUMNS.iter().zip(cells.split(' ')) {
            let role: ConnectionRole = parse(role_name);
            assert_eq!(
                can_invite(&[inviter], role),
                cell == "✓",
                "{inviter} invites {role}"
            );
        }
    }
    assert!(!can_invite(&[], ConnectionRole::ReadOnly));
    assert!(can_invite(
        &[ConnectionRole::ReadOnly, ConnectionRole::ItAdmin],
        ConnectionRole::ItAdmin
    ));
}

#[test]
fn s16_whoever_may_invite_to_some_role_may_search_people() {
    for &(inviter, cells) in INVITE_LADDER {
        let inviter: ConnectionRole = parse(inviter);
        assert_eq!(
            can_invite_anyone(&[inviter]),
            cells.contains('✓'),
            "{inviter}"
        );
    }
    assert!(!can_invite_anyone(&[]));
    assert!(can_invite_anyone(&[
        ConnectionRole::ReadOnly,
        ConnectionRole::ItAdmin
    ]));
}

#[test]
fn s5_2_a_role_is_removable_by_whoever_could_invite_it_but_the_owner_role_never_is() {
    for &(actor, cells) in INVITE_LADDER {
        let actor: ConnectionRole = parse(actor);
        for (role_name, cell) in ROLE_COLUMNS.iter().zip(cells.split(' ')) {
            let role: ConnectionRole = parse(role_name);
            let expected = cell == "✓" && role != ConnectionRole::Owner;
            assert_eq!(
                can_remove_role(&[actor], role),
                expected,
                "{actor} removes {role}"
            );
        }
    }
    let all = ConnectionRole::VARIANTS;
    assert!(!can_remove_role(all, ConnectionRole::Owner));
}

#[test]
fn s8_values_travel_as_stable_snake_case_strings() {
    assert_eq!(
        serde_json::to_string(&HubAccess::Elevated).unwrap(),
        "\"elevated\""
    );
    assert_eq!(
        serde_json::to_string(&Elevation::Revoked).unwrap(),
        "\"revoked\""
    );
    assert_eq!(
        serde_json::to_string(&ConnectionRole::BusinessAdmin).unwrap(),
        "\"business_admin\""
    );
    assert_eq!(
        serde_json::to_string(&ConnectionKind::QuickbooksPowerBi).unwrap(),
        "\"quickbooks_power_bi\""
    );
    // strum's names and serde's names must agree: both are used.
    for a in ConnectionAction::VARIANTS {
        assert_eq!(serde_json::to_value(a).unwrap(), a.to_string());
    }
    for a in HubAction::VARIANTS {
        assert_eq!(serde_json::to_value(a).unwrap(), a.to_string());
    }
    for c in ProblemCode::VARIANTS {
        assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
    }
    for a in hubkeep_shared::UserAction::VARIANTS {
        assert_eq!(serde_json::to_value(a).unwrap(), a.wire_name());
        assert_eq!(a.to_string(), a.wire_name());
    }
    for s in hubkeep_shared::TokenScope::VARIANTS {
        assert_eq!(serde_json::to_value(s).unwrap(), s.wire_name());
    }
}

#[test]
fn s8_problem_codes_named_in_the_spec_have_their_statuses() {
    let spec: &[(&str, u16)] = &[
        ("level_not_eligible", 422),
        ("reauthorization_required", 401),
        ("user_inactive", 403),
        ("self_deactivation_forbidden", 403),
        ("self_demotion_forbidden", 409),
        ("primary_user_immutable", 403),
        ("primary_requires_elevation", 403),
        ("elevated_access_required", 403),
        ("psa_unavailable", 503),
        ("not_supported_for_kind", 422),
        ("connection_cancelled", 409),
        ("invitation_expired", 410),
        ("owner_must_transfer", 409),
        ("endpoint_disconnected", 409),
    ];
    for &(name, status) in spec {
        let code: ProblemCode = parse(name);
        assert_eq!(code.status(), status, "{name}");
    }
    let p = Problem::new(ProblemCode::SelfDeactivationForbidden, "no");
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["type"], "urn:hubkeep:problem:self_deactivation_forbidden");
    assert_eq!(v["status"], 403);
    assert_eq!(v["code"], "self_deactivation_forbidden");
    assert!(v.get("errors").is_none(), "empty errors are omitted");
}

#[test]
fn permissions_matrix_as_data_agrees_with_the_functions() {
    let m = PermissionMatrix::current();
    assert_eq!(m.hub_actions.len(), HubAction::VARIANTS.len());
    assert_eq!(m.connection_actions.len(), ConnectionAction::VARIANTS.len());
    let pay = m
        .connection_actions
        .iter()
        .find(|r| r.action == ConnectionAction::Pay)
        .unwrap();
    assert_eq!(pay.roles, vec![ConnectionRole::Owner]);
    let views = m
        .connection_actions
        .iter()
        .find(|r| r.action == ConnectionAction::ManageViews)
        .unwrap();
    assert_eq!(
        views.kinds,
        vec![
            ConnectionKind::XeroPowerBi,
            ConnectionKind::QuickbooksPowerBi
        ]
    );
    let owner = m
        .roles
        .iter()
        .find(|r| r.role == ConnectionRole::Owner)
        .unwrap();
    assert_eq!(owner.invited_by, vec![ConnectionRole::Owner]);
    assert!(owner.removable_by.is_empty());
}

#[test]
fn permissions_doc_is_generated_from_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/permissions.md");
    let generated = permissions_markdown();
    if std::env::var_os("HUBKEEP_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    similar_asserts::assert_eq!(
        committed,
        generated,
        "docs/permissions.md is out of date: run `just permissions-doc`"
    );
}

#[test]
fn s8_wire_names_are_spelled_out_and_agree_with_serde() {
    fn check<T: serde::Serialize>(values: &[T], name: impl Fn(&T) -> &'static str) {
        for v in values {
            assert_eq!(serde_json::to_value(v).unwrap(), name(v));
        }
    }
    check(ConnectionRole::VARIANTS, |v| v.wire_name());
    check(ConnectionAction::VARIANTS, |v| v.wire_name());
    check(ConnectionKind::VARIANTS, |v| v.wire_name());
    check(System::VARIANTS, |v| v.wire_name());
    check(HubAction::VARIANTS, |v| v.wire_name());
    check(HubAccess::VARIANTS, |v| v.wire_name());
    check(Elevation::VARIANTS, |v| v.wire_name());
}
