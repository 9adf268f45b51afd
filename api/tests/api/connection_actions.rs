//! The guarded writes on a connection (SPEC S4, S5, S7, S8): the settings PATCH, pay, cancel,
//! endpoints. Expected outcomes are written here from SPEC S4/S5, never derived from `shared`.
//!
//! Order of checks (documented in `api/src/connection_actions.rs`): 404 without a role, then
//! 422 `not_supported_for_kind` when the kind lacks the setting (whatever the roles), then
//! 403 `forbidden`, then 409 `connection_cancelled`, then 422 `validation_failed`.

use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Session, TestApp, TestTenant, assert_problem, exec, grant, people::*, spawn_app,
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

fn id_of(session: &Session) -> String {
    session.user["id"].as_str().unwrap().to_owned()
}

async fn patch(app: &TestApp, token: &str, cid: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/connections/{cid}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Option<&Value>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.unwrap()
}

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

/// Calls the real endpoint of `action` on connection `cid`.
async fn call(app: &TestApp, token: &str, cid: &str, action: &str) -> reqwest::Response {
    call_with(app, token, cid, action, &Ctx::none()).await
}

/// Calls the real endpoint of `action` on connection `cid`, naming what `ctx` holds.
async fn call_with(
    app: &TestApp,
    token: &str,
    cid: &str,
    action: &str,
    ctx: &Ctx,
) -> reqwest::Response {
    let base = format!("/api/v1/connections/{cid}");
    let invite = |role: &str| json!({"email": fresh_email(), "role": role});
    match action {
        "view" => app.get_as(&base, token).await,
        "manage_views" => {
            post(
                app,
                token,
                &format!("{base}/views"),
                Some(&json!({"name": "Board", "definition": {}})),
            )
            .await
        }
        "transfer_ownership" => {
            post(
                app,
                token,
                &format!("{base}/invitations"),
                Some(&json!({"user_id": ctx.new_owner, "role": "owner"})),
            )
            .await
        }
        "invite_business_admin" => {
            post(
                app,
                token,
                &format!("{base}/invitations"),
                Some(&invite("business_admin")),
            )
            .await
        }
        "invite_it_admin" => {
            post(
                app,
                token,
                &format!("{base}/invitations"),
                Some(&invite("it_admin")),
            )
            .await
        }
        "invite_read_only" => {
            post(
                app,
                token,
                &format!("{base}/invitations"),
                Some(&invite("read_only")),
            )
            .await
        }
        "run_manually" => post(app, token, &format!("{base}/runs"), Some(&json!({}))).await,
        "hide_sync_records" => {
            post(
                app,
                token,
                &format!("{base}/runs/{}/hide", ctx.run_id),
                Some(&json!({})),
            )
            .await
        }
        "rename" => patch(app, token, cid, &json!({"name": "Renamed"})).await,
        "change_timezone" => patch(app, token, cid, &json!({"timezone": "Asia/Tokyo"})).await,
        "change_locked_period_export" => {
            patch(app, token, cid, &json!({"locked_period_export": true})).await
        }
        "change_reporting_currency" => {
            patch(app, token, cid, &json!({"reporting_currency": "GBP"})).await
        }
        "change_forecast_budget" => {
            patch(
                app,
                token,
                cid,
                &json!({"forecast_budget": {"id": "b-1", "name": "Budget 2027"}}),
            )
            .await
        }
        "change_postgres_db" => {
            patch(
                app,
                token,
                cid,
                &json!({"postgres_db": "postgres://bi:s3cret@db.example.test/bi"}),
            )
            .await
        }
        "group" => patch(app, token, cid, &json!({"group": "Finance"})).await,
        "ungroup" => patch(app, token, cid, &json!({"group": null})).await,
        "reconnect_endpoint" => {
            post(
                app,
                token,
                &format!("{base}/endpoints/source/reconnect"),
                Some(&json!({"account_label": "Contoso Ltd"})),
            )
            .await
        }
        "disconnect_endpoint" => {
            post(
                app,
                token,
                &format!("{base}/endpoints/source/disconnect"),
                None,
            )
            .await
        }
        "pay" => {
            post(
                app,
                token,
                &format!("{base}/pay"),
                Some(&json!({"months": 1, "amount_cents": 4900, "currency": "USD"})),
            )
            .await
        }
        "cancel" => post(app, token, &format!("{base}/cancel"), None).await,
        other => panic!("no endpoint for {other}"),
    }
}

/// Creates a connection as `owner` (must succeed); returns its id.
async fn create(app: &TestApp, owner: &Session, name: &str, kind: &str) -> String {
    let res = app
        .post_json(
            "/api/v1/connections",
            Some(&owner.access_token),
            &json!({"name": name, "kind": kind, "timezone": "Europe/London"}),
        )
        .await;
    assert_eq!(res.status(), 201, "create {name}");
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn entries(app: &TestApp, cid: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}'"
    ))
    .await
}

async fn entries_of(app: &TestApp, cid: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' AND action = '{action}'"
    ))
    .await
}

/// The connection as its owner sees it (a read changes nothing).
async fn snapshot(app: &TestApp, owner: &Session, cid: &str) -> Value {
    let res = app
        .get_as(&format!("/api/v1/connections/{cid}"), &owner.access_token)
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Everything a refused write could have touched.
async fn state(app: &TestApp, owner: &Session, cid: &str) -> (Value, Vec<(&'static str, i64)>) {
    let mut counts = app.row_counts().await;
    for table in [
        "connections",
        "role_assignments",
        "connection_endpoints",
        "connection_groups",
        "payments",
        "connection_views",
        "invitations",
        "sync_runs",
    ] {
        counts.push((table, app.count(table).await));
    }
    counts.push((
        "hidden sync_runs",
        app.scalar("SELECT COUNT(*) FROM sync_runs WHERE hidden")
            .await,
    ));
    (snapshot(app, owner, cid).await, counts)
}

/// Ada (primary, elevated: creates connections and owns them), Tess and Tom (limited).
async fn team(app: &TestApp) -> (TestTenant, Session, Session, Session) {
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;
    (tenant, ada, tess, tom)
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
            let base = format!("/api/v1/connections/{cid}");
            for side in ["source", "target"] {
                let res = post(
                    &app,
                    &ada.access_token,
                    &format!("{base}/endpoints/{side}/reconnect"),
                    Some(&json!({})),
                )
                .await;
                assert_eq!(res.status(), 200, "reconnect {side}");
            }
            let res = post(
                &app,
                &ada.access_token,
                &format!("{base}/runs"),
                Some(&json!({})),
            )
            .await;
            assert_eq!(res.status(), 201, "setup run");
            let run_id = res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let res = call(&app, &ada.access_token, &cid, "disconnect_endpoint").await;
            assert_eq!(res.status(), 200, "setup disconnect");
            // The caller: Ada holds `owner`; Tess holds exactly the role under test; Tom
            // holds none. Ownership is offered to Tom (a hub user with hub access).
            let caller = match *role {
                "owner" => &ada,
                "none" => &tom,
                other => {
                    grant(&app, &tenant, &cid, &id_of(&tess), other).await;
                    &tess
                }
            };
            let ctx = Ctx {
                run_id,
                new_owner: id_of(&tom),
            };
            for (action, allowed, lacking, ok) in EXPECTED {
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
                let res = call_with(&app, &caller.access_token, &cid, action, &ctx).await;
                let what = format!("{action} by {role} on {kind}");
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
    grant(&app, &tenant, &cid, &id_of(&tess), "business_admin").await;
    let before = state(&app, &ada, &cid).await;

    // A business administrator may change the timezone but not the Postgres DB: all or
    // nothing.
    let res = patch(
        &app,
        &tess.access_token,
        &cid,
        &json!({"timezone": "Asia/Tokyo", "postgres_db": "postgres://x@db/bi"}),
    )
    .await;
    let problem = assert_problem(res, 403, "forbidden").await;
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
    let res = patch(
        &app,
        &tess.access_token,
        &cid,
        &json!({"timezone": "Europe/London", "postgres_db": null}),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(entries(&app, &cid).await, 1);

    // Alone, the timezone goes through, with one entry.
    let res = patch(
        &app,
        &tess.access_token,
        &cid,
        &json!({"timezone": "Asia/Tokyo"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["timezone"], "Asia/Tokyo");
    assert_eq!(body["my_roles"], json!(["business_admin"]));
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 1);

    // The owner changes several settings at once: one entry, the Postgres DB masked.
    let secret = "postgresql://bi:very-secret@db.example.test:5432/bi";
    let res = patch(
        &app,
        &ada.access_token,
        &cid,
        &json!({
            "name": "Board pack 2027",
            "timezone": "Asia/Tokyo",
            "locked_period_export": false,
            "reporting_currency": "EUR",
            "forecast_budget": {"id": "fb-9", "name": "FY27"},
            "postgres_db": secret,
        }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
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
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connections WHERE id = '{cid}' AND postgres_db = '{secret}'"
        ))
        .await,
        1
    );
    // Replacing it with another: a change, logged masked on both sides.
    let other = "postgresql://bi:other-secret@db2.example.test:5432/bi";
    let res = patch(
        &app,
        &ada.access_token,
        &cid,
        &json!({"postgres_db": other}),
    )
    .await;
    assert_eq!(res.status(), 200);
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
    let res = patch(&app, &ada.access_token, &cid, &json!({"postgres_db": null})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["postgres_db_set"], false);
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 4);
    // Sending the same values again changes nothing and records nothing.
    let res = patch(
        &app,
        &ada.access_token,
        &cid,
        &json!({"name": "Board pack 2027", "postgres_db": null}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 4);
}

async fn s4_settings_the_kind_lacks_answer_not_supported_for_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let books = create(&app, &ada, "Books", "autotask_quickbooks").await;
    let xero = create(&app, &ada, "Xero", "autotask_xero").await;
    grant(&app, &tenant, &books, &id_of(&tess), "read_only").await;

    for (cid, body) in [
        (&books, json!({"reporting_currency": "GBP"})),
        (&books, json!({"locked_period_export": true})),
        (&books, json!({"forecast_budget": null})),
        (&books, json!({"postgres_db": "postgres://x@db/bi"})),
        (&xero, json!({"postgres_db": "postgres://x@db/bi"})),
        // Mixed with a field the owner may change: refused whole.
        (&books, json!({"name": "New", "reporting_currency": "GBP"})),
    ] {
        let before = state(&app, &ada, cid).await;
        let res = patch(&app, &ada.access_token, cid, &body).await;
        assert_problem(res, 422, "not_supported_for_kind").await;
        assert_eq!(state(&app, &ada, cid).await, before, "{body}");
        assert_eq!(entries(&app, cid).await, 1);
    }
    // The kind answers first, whatever the roles: a read-only member gets 422 too.
    let res = patch(
        &app,
        &tess.access_token,
        &books,
        &json!({"reporting_currency": "GBP"}),
    )
    .await;
    assert_problem(res, 422, "not_supported_for_kind").await;
    // And on a kind that has the setting, the roles decide.
    let res = patch(
        &app,
        &ada.access_token,
        &xero,
        &json!({"reporting_currency": "GBP"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["reporting_currency"],
        "GBP"
    );
}

async fn s4_a_cancelled_connection_refuses_changes_until_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let cid = create(&app, &ada, "Books", "autotask_xero").await;
    grant(&app, &tenant, &cid, &id_of(&tess), "business_admin").await;
    let base = format!("/api/v1/connections/{cid}");

    // Only the owner cancels.
    let res = post(&app, &tess.access_token, &format!("{base}/cancel"), None).await;
    assert_problem(res, 403, "forbidden").await;
    let res = post(&app, &ada.access_token, &format!("{base}/cancel"), None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
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
    for (token, action) in [
        (&ada.access_token, "cancel"),
        (&ada.access_token, "rename"),
        (&ada.access_token, "change_timezone"),
        (&ada.access_token, "change_reporting_currency"),
        (&ada.access_token, "group"),
        (&ada.access_token, "reconnect_endpoint"),
        (&ada.access_token, "disconnect_endpoint"),
        (&tess.access_token, "rename"),
    ] {
        let res = call(&app, token, &cid, action).await;
        assert_problem(res, 409, "connection_cancelled").await;
    }
    // Roles still come first: a business admin may not pay.
    let res = call(&app, &tess.access_token, &cid, "pay").await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(state(&app, &ada, &cid).await, before);
    assert_eq!(entries(&app, &cid).await, before_entries);

    // The owner pays: active again, and changes go through.
    let res = call(&app, &ada.access_token, &cid, "pay").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "active");
    assert_eq!(body["cancelled_at"], Value::Null);
    assert!(body["paid_through"].is_string());
    assert_eq!(entries_of(&app, &cid, "connection.paid").await, 1);
    assert_eq!(entries(&app, &cid).await, before_entries + 1);
    let res = call(&app, &tess.access_token, &cid, "rename").await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &cid, "connection.updated").await, 1);
}

async fn s4_paying_moves_paid_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let cid = create(&app, &ada, "Books", "autotask_quickbooks").await;
    let pay_path = format!("/api/v1/connections/{cid}/pay");
    let today = chrono::Utc::now().date_naive();
    let plus = |from: chrono::NaiveDate, months: u32| {
        from.checked_add_months(chrono::Months::new(months))
            .unwrap()
            .to_string()
    };

    // From today when never paid.
    let res = post(
        &app,
        &ada.access_token,
        &pay_path,
        Some(&json!({"months": 1, "amount_cents": 4900, "currency": "USD"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let first = plus(today, 1);
    assert_eq!(body["paid_through"], first.as_str());

    // From the current paid_through when it is later than today.
    let res = post(
        &app,
        &ada.access_token,
        &pay_path,
        Some(&json!({"months": 12, "amount_cents": 0, "currency": "EUR"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let second = plus(
        today.checked_add_months(chrono::Months::new(1)).unwrap(),
        12,
    );
    assert_eq!(
        res.json::<Value>().await.unwrap()["paid_through"],
        second.as_str()
    );

    // From today when paid_through lies in the past.
    exec(
        &app,
        &format!("UPDATE connections SET paid_through = '2020-01-15' WHERE id = '{cid}'"),
    )
    .await;
    let res = post(
        &app,
        &ada.access_token,
        &pay_path,
        Some(&json!({"months": 36, "amount_cents": 100, "currency": "GBP"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["paid_through"],
        plus(today, 36).as_str()
    );

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
            id_of(&ada)
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
    grant(&app, &tenant, &cid, &id_of(&tess), "it_admin").await;
    let base = format!("/api/v1/connections/{cid}/endpoints");

    // An IT administrator reconnects the target, naming the account.
    let res = post(
        &app,
        &tess.access_token,
        &format!("{base}/target/reconnect"),
        Some(&json!({"account_label": "  Contoso QBO  "})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["endpoints"][1]["side"], "target");
    assert_eq!(body["endpoints"][1]["status"], "connected");
    assert_eq!(body["endpoints"][1]["account_label"], "Contoso QBO");
    assert_eq!(body["endpoints"][0]["status"], "disconnected");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connection_endpoints WHERE connection_id = '{cid}' \
             AND side = 'target' AND status = 'connected' AND changed_by = '{}'",
            id_of(&tess)
        ))
        .await,
        1
    );
    assert_eq!(
        entries_of(&app, &cid, "connection.endpoint_reconnected").await,
        1
    );

    // Twice: a no-op 200 without an entry.
    let res = post(
        &app,
        &tess.access_token,
        &format!("{base}/target/reconnect"),
        Some(&json!({})),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        entries_of(&app, &cid, "connection.endpoint_reconnected").await,
        1
    );

    // The IT administrator may not disconnect; the owner may, once.
    let res = post(
        &app,
        &tess.access_token,
        &format!("{base}/target/disconnect"),
        None,
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    let res = post(
        &app,
        &ada.access_token,
        &format!("{base}/target/disconnect"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["endpoints"][1]["status"], "disconnected");
    assert_eq!(body["endpoints"][1]["account_label"], "Contoso QBO", "kept");
    let res = post(
        &app,
        &ada.access_token,
        &format!("{base}/target/disconnect"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        entries_of(&app, &cid, "connection.endpoint_disconnected").await,
        1
    );
    assert_eq!(entries(&app, &cid).await, 3);

    // Another side names nothing.
    for path in [
        format!("{base}/middle/disconnect"),
        format!("{base}/Source/reconnect"),
    ] {
        let res = post(&app, &ada.access_token, &path, Some(&json!({}))).await;
        assert_problem(res, 404, "not_found").await;
    }
    assert_eq!(entries(&app, &cid).await, 3);
}

async fn s4_group_is_created_by_name_and_ungroup_takes_it_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, tess, _) = team(&app).await;
    let one = create(&app, &ada, "One", "autotask_quickbooks").await;
    let two = create(&app, &ada, "Two", "xero_power_bi").await;
    grant(&app, &tenant, &two, &id_of(&tess), "it_admin").await;

    let res = patch(
        &app,
        &ada.access_token,
        &one,
        &json!({"group": " Finance "}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["group"], "Finance");
    assert_eq!(app.count("connection_groups").await, 1);
    // The same name reuses the group (an IT administrator may group).
    let res = patch(&app, &tess.access_token, &two, &json!({"group": "Finance"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["group"], "Finance");
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
    let res = patch(&app, &ada.access_token, &one, &json!({"group": "Finance"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(entries_of(&app, &one, "connection.updated").await, 1);
    // A new name creates another group and moves the connection.
    let res = patch(&app, &ada.access_token, &one, &json!({"group": "Ops"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["group"], "Ops");
    assert_eq!(app.count("connection_groups").await, 2);
    // Ungroup.
    let res = patch(&app, &tess.access_token, &two, &json!({"group": null})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["group"], Value::Null);
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
    let base = format!("/api/v1/connections/{cid}");
    let long = "x".repeat(201);

    let patches: Vec<(Value, &str)> = vec![
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"timezone": ""}), "timezone"),
        (json!({"reporting_currency": "gbp"}), "reporting_currency"),
        (json!({"reporting_currency": "XYZ"}), "reporting_currency"),
        (json!({"reporting_currency": "XXX"}), "reporting_currency"),
        (json!({"name": "  "}), "name"),
        (json!({"name": long}), "name"),
        (json!({"group": ""}), "group"),
        (json!({"postgres_db": "mysql://x@db/bi"}), "postgres_db"),
        (
            json!({"forecast_budget": {"id": "", "name": "B"}}),
            "forecast_budget.id",
        ),
        (json!({}), ""),
        // Unknown fields and wrong types: refused by the body parser, which names them.
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
        // A valid field does not carry an invalid one through.
        (
            json!({"name": "Fine", "timezone": "Nowhere/Else"}),
            "timezone",
        ),
    ];
    for (body, field) in patches {
        let res = patch(&app, &ada.access_token, &cid, &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        if !field.is_empty() {
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{body}: {problem}");
        }
    }
    let pays = [
        json!({"months": 0, "amount_cents": 100, "currency": "USD"}),
        json!({"months": 37, "amount_cents": 100, "currency": "USD"}),
        json!({"months": 1, "amount_cents": -1, "currency": "USD"}),
        json!({"months": 1, "amount_cents": 100, "currency": "usd"}),
        json!({"months": 1, "amount_cents": 100}),
        json!({"months": 1, "amount_cents": 100, "currency": "USD", "paid_through": "2099-01-01"}),
    ];
    for body in pays {
        let res = post(&app, &ada.access_token, &format!("{base}/pay"), Some(&body)).await;
        assert_problem(res, 422, "validation_failed").await;
    }
    for body in [
        json!({"account_label": ""}),
        json!({"account_label": "ok", "status": "connected"}),
    ] {
        let res = post(
            &app,
            &ada.access_token,
            &format!("{base}/endpoints/source/reconnect"),
            Some(&body),
        )
        .await;
        assert_problem(res, 422, "validation_failed").await;
    }
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
    let before = state(&app, &ada, &cid).await;
    for (action, _, _, _) in EXPECTED {
        for id in [cid.as_str(), "00000000-0000-0000-0000-000000000000"] {
            let res = call(&app, &eve.access_token, id, action).await;
            assert_problem(res, 404, "not_found").await;
        }
    }
    assert_eq!(state(&app, &ada, &cid).await, before);
    assert_eq!(entries(&app, &cid).await, 1);
}
