//! The guarded writes on a connection (SPEC S4, S5, S7, S8): the settings PATCH, pay, cancel,
//! endpoints. Expected outcomes are written here from SPEC S4/S5, never derived from `shared`.
//!
//! Order of checks (documented in `api/src/connection_actions.rs`): 404 without a role, then
//! 422 `not_supported_for_kind` when the kind lacks the setting (whatever the roles), then
//! 403 `forbidden`, then 409 `connection_cancelled`, then 422 `validation_failed`.

use hubkeep_shared::ConnectionRole;
use hubkeep_shared::api::{
    ConnectionPatch, ForecastBudgetInput, NewInvitation, ReconnectInput, RunRequest,
};
use reqwest::Method;
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::client::{Client, Pending, email_invitation, invitation, payment, pending, view};
use crate::helpers::{
    Backend, assert_problem, connection_state as state, create_connection as create, entries,
    entries_of, error_fields, exec, grant, id, owner_and_techs as team, people::*, spawn_app,
};
use crate::on_each_backend;

on_each_backend!(
    s5_every_action_by_every_role_on_every_kind_matches_the_spec,
    s5_mass_assignment_patch_is_refused_whole,
    s4_settings_the_kind_lacks_answer_not_supported_for_kind,
    s4_a_cancelled_connection_refuses_changes_until_paid,
    s4_paying_moves_paid_through,
    s4_endpoints_disconnect_and_reconnect_once,
    s4_group_is_created_by_name_and_ungroup_takes_it_out,
    s8_invalid_action_input_is_422_and_changes_nothing,
    s5_another_tenants_connection_is_not_found_for_every_operation,
);

const KINDS: [&str; 4] = [
    "autotask_quickbooks",
    "autotask_xero",
    "xero_power_bi",
    "quickbooks_power_bi",
];

const Y: bool = true;
const N: bool = false;

/// How a permitted call answers: its status, the body field holding the connection id, and
/// how many activity entries it writes (a read writes none).
#[derive(Clone, Copy)]
struct Success(u16, &'static str, i64);

const CONN: Success = Success(200, "id", 1);
const READ: Success = Success(200, "id", 0);
const CREATED: Success = Success(201, "connection_id", 1);
const CHILD: Success = Success(200, "connection_id", 1);

/// SPEC S5's connection matrix, every action of it, with the kinds SPEC S4 says lack the
/// setting. Columns: owner, business_admin, it_admin, read_only. Rows run in this order on one
/// connection per (kind, role), so `cancel` comes last, `reconnect_endpoint` (of the source,
/// which the setup left disconnected) before `run_manually` and `disconnect_endpoint`, and
/// `group` before `ungroup`.
const EXPECTED: &[(&str, [bool; 4], &[&str], Success)] = &[
    ("view", [Y, Y, Y, Y], &[], READ),
    ("rename", [Y, Y, N, N], &[], CONN),
    ("change_timezone", [Y, Y, Y, N], &[], CONN),
    (
        "change_locked_period_export",
        [Y, Y, N, N],
        &["autotask_quickbooks"],
        CONN,
    ),
    (
        "change_reporting_currency",
        [Y, Y, N, N],
        &["autotask_quickbooks"],
        CONN,
    ),
    (
        "change_forecast_budget",
        [Y, Y, N, N],
        &["autotask_quickbooks"],
        CONN,
    ),
    (
        "change_postgres_db",
        [Y, N, N, N],
        &["autotask_quickbooks", "autotask_xero"],
        CONN,
    ),
    (
        "manage_views",
        [Y, Y, N, N],
        &["autotask_quickbooks", "autotask_xero"],
        CREATED,
    ),
    ("group", [Y, Y, Y, N], &[], CONN),
    ("ungroup", [Y, Y, Y, N], &[], CONN),
    ("transfer_ownership", [Y, N, N, N], &[], CREATED),
    ("invite_business_admin", [Y, Y, N, N], &[], CREATED),
    ("invite_it_admin", [Y, Y, Y, N], &[], CREATED),
    ("invite_read_only", [Y, Y, Y, N], &[], CREATED),
    ("reconnect_endpoint", [Y, Y, Y, N], &[], CONN),
    ("run_manually", [Y, Y, Y, N], &[], CREATED),
    ("hide_sync_records", [Y, Y, Y, N], &[], CHILD),
    ("disconnect_endpoint", [Y, Y, N, N], &[], CONN),
    ("pay", [Y, N, N, N], &[], CONN),
    ("cancel", [Y, N, N, N], &[], CONN),
];

const ROLES: [&str; 5] = ["owner", "business_admin", "it_admin", "read_only", "none"];

/// What some calls name besides the connection.
struct Ctx {
    /// An existing sync run of the connection (for `hide_sync_records`).
    run_id: String,
    /// A hub user with hub access (for `transfer_ownership`).
    new_owner: String,
}

impl Ctx {
    /// For calls that never get past the connection lookup.
    fn none() -> Self {
        Ctx {
            run_id: "00000000-0000-0000-0000-000000000000".into(),
            new_owner: "00000000-0000-0000-0000-000000000000".into(),
        }
    }
}

/// A fresh invitee for every invitation, so no duplicate or held role gets in the way.
fn fresh_email() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("invitee-{n}@example.test")
}

/// The call of `action` on connection `cid` (see [`action_with`]).
fn action<'a>(c: &'a Client<'_>, cid: &'a str, action: &str) -> Pending<'a> {
    action_with(c, cid, action, &Ctx::none())
}

/// The real endpoint of `action` on connection `cid`, naming what `ctx` holds, as the
/// client's typed call (awaiting it sends it).
fn action_with<'a>(c: &'a Client<'_>, cid: &'a str, action: &str, ctx: &Ctx) -> Pending<'a> {
    let patch = move |patch: ConnectionPatch| {
        pending(async move { c.update_connection(cid, &patch).await })
    };
    let invite =
        move |body: NewInvitation| pending(async move { c.create_invitation(cid, &body).await });
    let fresh = |role: ConnectionRole| email_invitation(&fresh_email(), role);
    match action {
        "view" => pending(c.get_connection(cid)),
        "manage_views" => {
            let body = view("Board", json!({}));
            pending(async move { c.create_view(cid, &body).await })
        }
        "transfer_ownership" => invite(invitation(&ctx.new_owner, ConnectionRole::Owner)),
        "invite_business_admin" => invite(fresh(ConnectionRole::BusinessAdmin)),
        "invite_it_admin" => invite(fresh(ConnectionRole::ItAdmin)),
        "invite_read_only" => invite(fresh(ConnectionRole::ReadOnly)),
        "run_manually" => pending(async move { c.request_run(cid, &RunRequest::default()).await }),
        "hide_sync_records" => {
            let run_id = ctx.run_id.clone();
            pending(async move { c.hide_run(cid, &run_id).await })
        }
        "rename" => patch(ConnectionPatch {
            name: Some("Renamed".into()),
            ..Default::default()
        }),
        "change_timezone" => patch(ConnectionPatch {
            timezone: Some("Asia/Tokyo".into()),
            ..Default::default()
        }),
        "change_locked_period_export" => patch(ConnectionPatch {
            locked_period_export: Some(true),
            ..Default::default()
        }),
        "change_reporting_currency" => patch(ConnectionPatch {
            reporting_currency: Some("GBP".into()),
            ..Default::default()
        }),
        "change_forecast_budget" => patch(ConnectionPatch {
            forecast_budget: Some(Some(ForecastBudgetInput {
                id: "b-1".into(),
                name: "Budget 2027".into(),
            })),
            ..Default::default()
        }),
        "change_postgres_db" => patch(ConnectionPatch {
            postgres_db: Some(Some("postgres://bi:s3cret@db.example.test/bi".into())),
            ..Default::default()
        }),
        "group" => patch(ConnectionPatch {
            group: Some(Some("Finance".into())),
            ..Default::default()
        }),
        "ungroup" => patch(ConnectionPatch {
            group: Some(None),
            ..Default::default()
        }),
        "reconnect_endpoint" => {
            let body = ReconnectInput {
                account_label: Some("Contoso Ltd".into()),
            };
            pending(async move { c.reconnect_endpoint(cid, "source", &body).await })
        }
        "disconnect_endpoint" => pending(c.disconnect_endpoint(cid, "source")),
        "pay" => {
            let body = payment(1, 4900, "USD");
            pending(async move { c.pay_connection(cid, &body).await })
        }
        "cancel" => pending(c.cancel_connection(cid)),
        other => panic!("no endpoint for {other}"),
    }
}

async fn s5_every_action_by_every_role_on_every_kind_matches_the_spec(backend: Backend) {
    // The table names every ConnectionAction once (the names only are checked against
    // `shared`; the expectations are SPEC's).
    let names: std::collections::BTreeSet<&str> = EXPECTED.iter().map(|row| row.0).collect();
    assert_eq!(names.len(), 20, "twenty distinct actions");
    for name in &names {
        serde_json::from_value::<hubkeep_shared::ConnectionAction>(json!(name))
            .unwrap_or_else(|e| panic!("{name} is not a ConnectionAction: {e}"));
    }
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, tom) = team(&app).await;
    let mut checked = 0;
    for kind in KINDS {
        for (r, role) in ROLES.iter().enumerate() {
            let cid = create(&app, &ada, &format!("{kind} for {role}"), kind).await;
            // The setup, as the owner: a sync run to hide (both endpoints connected for it),
            // then the source disconnected again so that `reconnect_endpoint` changes it.
            let as_ada = app.as_(&ada);
            for side in ["source", "target"] {
                let res = as_ada
                    .reconnect_endpoint(&cid, side, &ReconnectInput::default())
                    .await;
                assert_eq!(res.status(), 200, "reconnect {side}");
            }
            let res = as_ada.request_run(&cid, &RunRequest::default()).await;
            assert_eq!(res.status(), 201, "setup run");
            let run_id = res.ok().await.id.to_string();
            let res = action(&as_ada, &cid, "disconnect_endpoint").await;
            assert_eq!(res.status(), 200, "setup disconnect");
            // The caller: Ada holds `owner`; Tess holds exactly the role under test; Tom
            // holds none. Ownership is offered to Tom (a hub user with hub access).
            let caller = match *role {
                "owner" => &ada,
                "none" => &tom,
                other => {
                    grant(&app, &tenant, &cid, &id(&tess), other).await;
                    &tess
                }
            };
            let ctx = Ctx {
                run_id,
                new_owner: id(&tom),
            };
            for (name, allowed, lacking, ok) in EXPECTED {
                let expected = if *role == "none" {
                    404
                } else if lacking.contains(&kind) {
                    422
                } else if allowed[r] {
                    ok.0
                } else {
                    403
                };
                let before = state(&app, &ada, &cid).await;
                let before_entries = entries(&app, &cid).await;
                let res = action_with(&app.as_(caller), &cid, name, &ctx).await;
                let what = format!("{name} by {role} on {kind}");
                match expected {
                    200 | 201 => {
                        assert_eq!(res.status(), expected, "{what}");
                        let body: Value = res.json().await.unwrap();
                        assert_eq!(body[ok.1], cid.as_str(), "{what}: {body}");
                        assert_eq!(
                            entries(&app, &cid).await,
                            before_entries + ok.2,
                            "{what}: exactly {} entry",
                            ok.2
                        );
                        if ok.2 == 0 {
                            assert_eq!(state(&app, &ada, &cid).await, before, "{what}: a read");
                        }
                    }
                    code => {
                        let problem = match code {
                            404 => "not_found",
                            422 => "not_supported_for_kind",
                            _ => "forbidden",
                        };
                        assert_problem(res, code, problem).await;
                        assert_eq!(state(&app, &ada, &cid).await, before, "{what}: unchanged");
                        assert_eq!(entries(&app, &cid).await, before_entries, "{what}");
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, EXPECTED.len() * ROLES.len() * KINDS.len());
    assert_eq!(checked, 20 * 5 * 4, "every ConnectionAction");
}

async fn s5_mass_assignment_patch_is_refused_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let cid = create(&app, &ada, "Board pack", "xero_power_bi").await;
    grant(&app, &tenant, &cid, &id(&tess), "business_admin").await;
    let before = state(&app, &ada, &cid).await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));

    // A business administrator may change the timezone but not the Postgres DB: all or
    // nothing.
    let problem = as_tess
        .update_connection(
            &cid,
            &ConnectionPatch {
                timezone: Some("Asia/Tokyo".into()),
                postgres_db: Some(Some("postgres://x@db/bi".into())),
                ..Default::default()
            },
        )
        .await
        .problem(403, "forbidden")
        .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("change_postgres_db")
    );
    assert_eq!(state(&app, &ada, &cid).await, before, "nothing changed");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connections WHERE id = '{cid}' AND timezone = 'Europe/London' \
             AND postgres_db IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(entries(&app, &cid).await, 1, "only connection.created");

    // A field equal to the current value still needs its permission.
    as_tess
        .update_connection(
            &cid,
            &ConnectionPatch {
                timezone: Some("Europe/London".into()),
                postgres_db: Some(None),
                ..Default::default()
            },
        )
        .await
        .problem(403, "forbidden")
        .await;
    assert_eq!(entries(&app, &cid).await, 1);

    // Alone, the timezone goes through, with one entry.
    let body = as_tess
        .update_connection(
            &cid,
            &ConnectionPatch {
                timezone: Some("Asia/Tokyo".into()),
                ..Default::default()
            },
        )
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["timezone"], "Asia/Tokyo");
    assert_eq!(body["my_roles"], json!(["business_admin"]));
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 1);

    // The owner changes several settings at once: one entry, the Postgres DB masked.
    let secret = "postgresql://bi:very-secret@db.example.test:5432/bi";
    let res = as_ada
        .update_connection(
            &cid,
            &ConnectionPatch {
                name: Some("Board pack 2027".into()),
                timezone: Some("Asia/Tokyo".into()),
                locked_period_export: Some(false),
                reporting_currency: Some("EUR".into()),
                forecast_budget: Some(Some(ForecastBudgetInput {
                    id: "fb-9".into(),
                    name: "FY27".into(),
                })),
                postgres_db: Some(Some(secret.into())),
                group: None,
            },
        )
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await;
    assert!(!text.contains("very-secret"), "never echoed");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["name"], "Board pack 2027");
    assert_eq!(body["locked_period_export"], false);
    assert_eq!(body["reporting_currency"], "EUR");
    assert_eq!(
        body["forecast_budget"],
        json!({"id": "fb-9", "name": "FY27"})
    );
    assert_eq!(body["postgres_db_set"], true);
    assert!(body.get("postgres_db").is_none());
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 2);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' \
             AND details LIKE '%very-secret%'"
        ))
        .await,
        0,
        "never a secret in the log"
    );
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT details FROM activity_log WHERE connection_id = '{cid}' \
                 AND action = 'connection.updated' AND details LIKE '%postgres_db%'"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let details: Value = serde_json::from_str(&row.try_get_by_index::<String>(0).unwrap()).unwrap();
    assert_eq!(
        details["changes"]["postgres_db"],
        json!({"before": null, "after": "***"})
    );
    assert_eq!(
        details["changes"]["name"],
        json!({"before": "Board pack", "after": "Board pack 2027"})
    );
    assert!(details["changes"].get("timezone").is_none(), "unchanged");
    // Stored sealed (SPEC S14), never as sent.
    let stored = app
        .scalar_text(&format!(
            "SELECT postgres_db FROM connections WHERE id = '{cid}'"
        ))
        .await;
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains("very-secret"));
    // Replacing it with another: a change, logged masked on both sides.
    let other = "postgresql://bi:other-secret@db2.example.test:5432/bi";
    as_ada
        .update_connection(
            &cid,
            &ConnectionPatch {
                postgres_db: Some(Some(other.into())),
                ..Default::default()
            },
        )
        .await
        .expect(200)
        .await;
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 3);
    let latest = app
        .scalar_text(&format!(
            "SELECT details FROM activity_log WHERE connection_id = '{cid}' \
             AND action = 'connection.updated' ORDER BY at DESC, id DESC LIMIT 1"
        ))
        .await;
    let latest: Value = serde_json::from_str(&latest).unwrap();
    assert_eq!(
        latest,
        json!({"fields": ["postgres_db"],
               "changes": {"postgres_db": {"before": "***", "after": "***"}}})
    );
    // Clearing it.
    let clear = ConnectionPatch {
        postgres_db: Some(None),
        ..Default::default()
    };
    let body = as_ada
        .update_connection(&cid, &clear)
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["postgres_db_set"], false);
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 4);
    // Sending the same values again changes nothing and records nothing.
    as_ada
        .update_connection(
            &cid,
            &ConnectionPatch {
                name: Some("Board pack 2027".into()),
                ..clear
            },
        )
        .await
        .expect(200)
        .await;
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 4);
}

async fn s4_settings_the_kind_lacks_answer_not_supported_for_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let books = create(&app, &ada, "Books", "autotask_quickbooks").await;
    let xero = create(&app, &ada, "Xero", "autotask_xero").await;
    grant(&app, &tenant, &books, &id(&tess), "read_only").await;
    let as_ada = app.as_(&ada);
    let gbp = || ConnectionPatch {
        reporting_currency: Some("GBP".into()),
        ..Default::default()
    };
    let postgres = || ConnectionPatch {
        postgres_db: Some(Some("postgres://x@db/bi".into())),
        ..Default::default()
    };

    for (cid, body) in [
        (&books, gbp()),
        (
            &books,
            ConnectionPatch {
                locked_period_export: Some(true),
                ..Default::default()
            },
        ),
        (
            &books,
            ConnectionPatch {
                forecast_budget: Some(None),
                ..Default::default()
            },
        ),
        (&books, postgres()),
        (&xero, postgres()),
        // Mixed with a field the owner may change: refused whole.
        (
            &books,
            ConnectionPatch {
                name: Some("New".into()),
                ..gbp()
            },
        ),
    ] {
        let before = state(&app, &ada, cid).await;
        as_ada
            .update_connection(cid, &body)
            .await
            .problem(422, "not_supported_for_kind")
            .await;
        assert_eq!(state(&app, &ada, cid).await, before, "{body:?}");
        assert_eq!(entries(&app, cid).await, 1);
    }
    // The kind answers first, whatever the roles: a read-only member gets 422 too.
    app.as_(&tess)
        .update_connection(&books, &gbp())
        .await
        .problem(422, "not_supported_for_kind")
        .await;
    // And on a kind that has the setting, the roles decide.
    let body = as_ada
        .update_connection(&xero, &gbp())
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["reporting_currency"], "GBP");
}

async fn s4_a_cancelled_connection_refuses_changes_until_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let cid = create(&app, &ada, "Books", "autotask_xero").await;
    grant(&app, &tenant, &cid, &id(&tess), "business_admin").await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));

    // Only the owner cancels.
    as_tess
        .cancel_connection(&cid)
        .await
        .problem(403, "forbidden")
        .await;
    let body = as_ada.cancel_connection(&cid).await.expect_json(200).await;
    assert_eq!(body["status"], "cancelled");
    assert!(body["cancelled_at"].is_string());
    assert_eq!(entries_of(&app, &cid, "connection.cancelled").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connections WHERE id = '{cid}' AND status = 'cancelled' \
             AND cancelled_at IS NOT NULL"
        ))
        .await,
        1
    );

    // Still visible, with its history; every change refused.
    let before = state(&app, &ada, &cid).await;
    let before_entries = entries(&app, &cid).await;
    for (c, name) in [
        (&as_ada, "cancel"),
        (&as_ada, "rename"),
        (&as_ada, "change_timezone"),
        (&as_ada, "change_reporting_currency"),
        (&as_ada, "group"),
        (&as_ada, "reconnect_endpoint"),
        (&as_ada, "disconnect_endpoint"),
        (&as_tess, "rename"),
    ] {
        let res = action(c, &cid, name).await;
        assert_problem(res, 409, "connection_cancelled").await;
    }
    // Roles still come first: a business admin may not pay.
    let res = action(&as_tess, &cid, "pay").await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(state(&app, &ada, &cid).await, before);
    assert_eq!(entries(&app, &cid).await, before_entries);

    // The owner pays: active again, and changes go through.
    let res = action(&as_ada, &cid, "pay").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "active");
    assert_eq!(body["cancelled_at"], Value::Null);
    assert!(body["paid_through"].is_string());
    assert_eq!(entries_of(&app, &cid, "connection.paid").await, 1);
    assert_eq!(entries(&app, &cid).await, before_entries + 1);
    let res = action(&as_tess, &cid, "rename").await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 1);
}

async fn s4_paying_moves_paid_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "Books", "autotask_quickbooks").await;
    let as_ada = app.as_(&ada);
    let today = chrono::Utc::now().date_naive();
    let plus = |from: chrono::NaiveDate, months: u32| {
        from.checked_add_months(chrono::Months::new(months))
            .unwrap()
            .to_string()
    };

    // From today when never paid.
    let body = as_ada
        .pay_connection(&cid, &payment(1, 4900, "USD"))
        .await
        .expect_json(200)
        .await;
    let first = plus(today, 1);
    assert_eq!(body["paid_through"], first.as_str());

    // From the current paid_through when it is later than today.
    let body = as_ada
        .pay_connection(&cid, &payment(12, 0, "EUR"))
        .await
        .expect_json(200)
        .await;
    let second = plus(
        today.checked_add_months(chrono::Months::new(1)).unwrap(),
        12,
    );
    assert_eq!(body["paid_through"], second.as_str());

    // From today when paid_through lies in the past.
    exec(
        &app,
        &format!("UPDATE connections SET paid_through = '2020-01-15' WHERE id = '{cid}'"),
    )
    .await;
    let body = as_ada
        .pay_connection(&cid, &payment(36, 100, "GBP"))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["paid_through"], plus(today, 36).as_str());

    // Three payment rows with what each moved; three entries.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE connection_id = '{cid}'"
        ))
        .await,
        3
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE connection_id = '{cid}' AND months = 1 \
             AND amount_cents = 4900 AND currency = 'USD' AND paid_through_before IS NULL \
             AND paid_through_after = '{first}' AND paid_by = '{}'",
            id(&ada)
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE connection_id = '{cid}' AND months = 12 \
             AND paid_through_before = '{first}' AND paid_through_after = '{second}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE connection_id = '{cid}' AND months = 36 \
             AND paid_through_before = '2020-01-15'"
        ))
        .await,
        1
    );
    assert_eq!(entries_of(&app, &cid, "connection.paid").await, 3);
    assert_eq!(entries(&app, &cid).await, 4);
}

async fn s4_endpoints_disconnect_and_reconnect_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let cid = create(&app, &ada, "Books", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "it_admin").await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));

    // An IT administrator reconnects the target, naming the account.
    let body = as_tess
        .reconnect_endpoint(
            &cid,
            "target",
            &ReconnectInput {
                account_label: Some("  Contoso QBO  ".into()),
            },
        )
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["endpoints"][1]["side"], "target");
    assert_eq!(body["endpoints"][1]["status"], "connected");
    assert_eq!(body["endpoints"][1]["account_label"], "Contoso QBO");
    assert_eq!(body["endpoints"][0]["status"], "disconnected");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connection_endpoints WHERE connection_id = '{cid}' \
             AND side = 'target' AND status = 'connected' AND changed_by = '{}'",
            id(&tess)
        ))
        .await,
        1
    );
    assert_eq!(
        entries_of(&app, &cid, "connection.endpoint_reconnected").await,
        1
    );

    // Twice: a no-op 200 without an entry.
    as_tess
        .reconnect_endpoint(&cid, "target", &ReconnectInput::default())
        .await
        .expect(200)
        .await;
    assert_eq!(
        entries_of(&app, &cid, "connection.endpoint_reconnected").await,
        1
    );

    // The IT administrator may not disconnect; the owner may, once.
    as_tess
        .disconnect_endpoint(&cid, "target")
        .await
        .problem(403, "forbidden")
        .await;
    let body = as_ada
        .disconnect_endpoint(&cid, "target")
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["endpoints"][1]["status"], "disconnected");
    assert_eq!(body["endpoints"][1]["account_label"], "Contoso QBO", "kept");
    as_ada
        .disconnect_endpoint(&cid, "target")
        .await
        .expect(200)
        .await;
    assert_eq!(
        entries_of(&app, &cid, "connection.endpoint_disconnected").await,
        1
    );
    assert_eq!(entries(&app, &cid).await, 3);

    // Another side names nothing.
    as_ada
        .disconnect_endpoint(&cid, "middle")
        .await
        .problem(404, "not_found")
        .await;
    as_ada
        .reconnect_endpoint(&cid, "Source", &ReconnectInput::default())
        .await
        .problem(404, "not_found")
        .await;
    assert_eq!(entries(&app, &cid).await, 3);
}

async fn s4_group_is_created_by_name_and_ungroup_takes_it_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let one = create(&app, &ada, "One", "autotask_quickbooks").await;
    let two = create(&app, &ada, "Two", "xero_power_bi").await;
    grant(&app, &tenant, &two, &id(&tess), "it_admin").await;
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));
    let group = |name: Option<&str>| ConnectionPatch {
        group: Some(name.map(str::to_owned)),
        ..Default::default()
    };

    let body = as_ada
        .update_connection(&one, &group(Some(" Finance ")))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["group"], "Finance");
    assert_eq!(app.count("connection_groups").await, 1);
    // The same name reuses the group (an IT administrator may group).
    let body = as_tess
        .update_connection(&two, &group(Some("Finance")))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["group"], "Finance");
    assert_eq!(app.count("connection_groups").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connections c JOIN connection_groups g ON g.id = c.group_id \
             WHERE g.name = 'Finance' AND g.tenant_id = '{}'",
            tenant.id
        ))
        .await,
        2
    );
    // The same group again: nothing changes, no entry.
    as_ada
        .update_connection(&one, &group(Some("Finance")))
        .await
        .expect(200)
        .await;
    assert_eq!(entries_of(&app, &one, "connection.updated").await, 1);
    // A new name creates another group and moves the connection.
    let body = as_ada
        .update_connection(&one, &group(Some("Ops")))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["group"], "Ops");
    assert_eq!(app.count("connection_groups").await, 2);
    // Ungroup.
    let body = as_tess
        .update_connection(&two, &group(None))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["group"], Value::Null);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connections WHERE id = '{two}' AND group_id IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(app.count("connection_groups").await, 2, "groups stay");
    assert_eq!(entries_of(&app, &one, "connection.updated").await, 2);
    assert_eq!(entries_of(&app, &two, "connection.updated").await, 2);
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT details FROM activity_log WHERE connection_id = '{two}' \
                 AND action = 'connection.updated' AND details LIKE '%\"after\":null%'"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let details: Value = serde_json::from_str(&row.try_get_by_index::<String>(0).unwrap()).unwrap();
    assert_eq!(
        details["changes"]["group"],
        json!({"before": "Finance", "after": null})
    );
}

async fn s8_invalid_action_input_is_422_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "Board", "quickbooks_power_bi").await;
    let before = state(&app, &ada, &cid).await;
    let as_ada = app.as_(&ada);
    let base = format!("/api/v1/connections/{cid}");
    let long = "x".repeat(201);

    let patches: Vec<(ConnectionPatch, &str)> = vec![
        (
            ConnectionPatch {
                timezone: Some("Mars/Olympus".into()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            ConnectionPatch {
                timezone: Some(String::new()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            ConnectionPatch {
                reporting_currency: Some("gbp".into()),
                ..Default::default()
            },
            "reporting_currency",
        ),
        (
            ConnectionPatch {
                reporting_currency: Some("XYZ".into()),
                ..Default::default()
            },
            "reporting_currency",
        ),
        (
            ConnectionPatch {
                reporting_currency: Some("XXX".into()),
                ..Default::default()
            },
            "reporting_currency",
        ),
        (
            ConnectionPatch {
                name: Some("  ".into()),
                ..Default::default()
            },
            "name",
        ),
        (
            ConnectionPatch {
                name: Some(long.clone()),
                ..Default::default()
            },
            "name",
        ),
        (
            ConnectionPatch {
                group: Some(Some(String::new())),
                ..Default::default()
            },
            "group",
        ),
        (
            ConnectionPatch {
                postgres_db: Some(Some("mysql://x@db/bi".into())),
                ..Default::default()
            },
            "postgres_db",
        ),
        (
            ConnectionPatch {
                forecast_budget: Some(Some(ForecastBudgetInput {
                    id: String::new(),
                    name: "B".into(),
                })),
                ..Default::default()
            },
            "forecast_budget.id",
        ),
        (ConnectionPatch::default(), ""),
        // A valid field does not carry an invalid one through.
        (
            ConnectionPatch {
                name: Some("Fine".into()),
                timezone: Some("Nowhere/Else".into()),
                ..Default::default()
            },
            "timezone",
        ),
    ];
    for (body, field) in patches {
        let problem = as_ada
            .update_connection(&cid, &body)
            .await
            .problem(422, "validation_failed")
            .await;
        if !field.is_empty() {
            let fields = error_fields(&problem);
            assert!(fields.iter().any(|f| f == field), "{body:?}: {problem}");
        }
    }
    // Unknown fields and wrong types: refused by the body parser, which names them.
    let outside: Vec<(Value, &str)> = vec![
        (json!({"status": "cancelled"}), "status"),
        (json!({"owner_user_id": "someone"}), "owner_user_id"),
        (json!({"name": "Ok", "kind": "autotask_xero"}), "kind"),
        (
            json!({"locked_period_export": "yes"}),
            "locked_period_export",
        ),
        (
            json!({"forecast_budget": {"id": "a", "name": "b", "x": 1}}),
            "forecast_budget.x",
        ),
    ];
    for (body, field) in outside {
        let problem = as_ada
            .raw(Method::PATCH, &base, Some(&body))
            .await
            .problem(422, "validation_failed")
            .await;
        let fields = error_fields(&problem);
        assert!(fields.iter().any(|f| f == field), "{body}: {problem}");
    }
    for body in [
        payment(0, 100, "USD"),
        payment(37, 100, "USD"),
        payment(1, -1, "USD"),
        payment(1, 100, "usd"),
    ] {
        as_ada
            .pay_connection(&cid, &body)
            .await
            .problem(422, "validation_failed")
            .await;
    }
    for body in [
        json!({"months": 1, "amount_cents": 100}),
        json!({"months": 1, "amount_cents": 100, "currency": "USD", "paid_through": "2099-01-01"}),
    ] {
        as_ada
            .raw(Method::POST, &format!("{base}/pay"), Some(&body))
            .await
            .problem(422, "validation_failed")
            .await;
    }
    as_ada
        .reconnect_endpoint(
            &cid,
            "source",
            &ReconnectInput {
                account_label: Some(String::new()),
            },
        )
        .await
        .problem(422, "validation_failed")
        .await;
    as_ada
        .raw(
            Method::POST,
            &format!("{base}/endpoints/source/reconnect"),
            Some(&json!({"account_label": "ok", "status": "connected"})),
        )
        .await
        .problem(422, "validation_failed")
        .await;
    assert_eq!(state(&app, &ada, &cid).await, before, "nothing changed");
    assert_eq!(entries(&app, &cid).await, 1);
}

async fn s5_another_tenants_connection_is_not_found_for_every_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "Private", "xero_power_bi").await;
    let other = app.tenant().await;
    // The other tenant's primary user: elevated there, nothing here.
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let as_eve = app.as_(&eve);
    let before = state(&app, &ada, &cid).await;
    for (name, _, _, _) in EXPECTED {
        for id in [cid.as_str(), "00000000-0000-0000-0000-000000000000"] {
            let res = action(&as_eve, id, name).await;
            assert_problem(res, 404, "not_found").await;
        }
    }
    assert_eq!(state(&app, &ada, &cid).await, before);
    assert_eq!(entries(&app, &cid).await, 1);
}
