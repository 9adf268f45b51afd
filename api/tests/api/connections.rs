//! Connections: create, list mine, read one, governance (SPEC S2.1, S4, S5, S5.4, S8), on
//! each backend. Expected permissions are written here from SPEC S4/S5, never derived from
//! `shared`.

use std::collections::BTreeSet;

use hubkeep_shared::api::{NewConnection, PageQuery, UpdateSettings, UserPatch};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{all_pages, new_connection};
use crate::helpers::{Backend, TestApp, error_fields, grant, id, people::*, spawn_app, team};
use crate::on_each_backend;

on_each_backend!(
    s2_1_an_elevated_user_creates_a_connection_and_becomes_its_owner,
    g7_a_limited_user_cannot_create_a_connection,
    s8_invalid_connection_input_changes_nothing,
    s4_the_timezone_defaults_to_the_tenant_default,
    s5_a_connection_is_invisible_to_users_without_a_role,
    s5_1_list_shows_my_connections_with_my_roles,
    s5_4_governance_lists_every_connection_and_flags_orphans,
);

/// SPEC S5, the owner's row, minus what S4 says `autotask_quickbooks` lacks (views, the
/// three Xero/Power BI settings, the Postgres DB).
const OWNER_ON_AUTOTASK_QUICKBOOKS: &[&str] = &[
    "view",
    "pay",
    "cancel",
    "transfer_ownership",
    "disconnect_endpoint",
    "rename",
    "invite_business_admin",
    "reconnect_endpoint",
    "change_timezone",
    "hide_sync_records",
    "invite_it_admin",
    "invite_read_only",
    "run_manually",
    "group",
    "ungroup",
];

/// SPEC S5, the owner's row: a Power BI kind offers every setting (S4).
const OWNER_ON_XERO_POWER_BI: &[&str] = &[
    "view",
    "pay",
    "cancel",
    "transfer_ownership",
    "change_postgres_db",
    "disconnect_endpoint",
    "rename",
    "manage_views",
    "change_locked_period_export",
    "change_reporting_currency",
    "change_forecast_budget",
    "invite_business_admin",
    "reconnect_endpoint",
    "change_timezone",
    "hide_sync_records",
    "invite_it_admin",
    "invite_read_only",
    "run_manually",
    "group",
    "ungroup",
];

/// SPEC S5, the IT administrator's row together with read-only's (a subset of it).
const IT_ADMIN_AND_READ_ONLY: &[&str] = &[
    "view",
    "reconnect_endpoint",
    "change_timezone",
    "hide_sync_records",
    "invite_it_admin",
    "invite_read_only",
    "run_manually",
    "group",
    "ungroup",
];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Row counts of every table a connection write could touch, plus the app's own set.
async fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = app.row_counts().await;
    for table in [
        "connections",
        "role_assignments",
        "connection_endpoints",
        "connection_groups",
        "invitations",
    ] {
        counts.push((table, app.count(table).await));
    }
    counts
}

/// Activates or deactivates a user (Users tab).
fn active(active: bool) -> UserPatch {
    UserPatch {
        active: Some(active),
        elevation: None,
    }
}

async fn s2_1_an_elevated_user_creates_a_connection_and_becomes_its_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, _) = team(&app).await;
    let as_ada = app.as_(&ada);

    let body = as_ada
        .create_connection(&NewConnection {
            timezone: Some("Europe/London".into()),
            ..new_connection("  Contoso books  ", "autotask_quickbooks")
        })
        .await
        .expect_json(201)
        .await;
    let cid = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["name"], "Contoso books", "trimmed");
    assert_eq!(body["kind"], "autotask_quickbooks");
    assert_eq!(body["timezone"], "Europe/London");
    assert_eq!(body["status"], "active");
    assert_eq!(body["my_roles"], json!(["owner"]));
    assert_eq!(
        strings(&body["allowed_actions"]),
        set(OWNER_ON_AUTOTASK_QUICKBOOKS)
    );
    assert_eq!(
        body["capabilities"],
        json!({"views": false, "financial_settings": false, "postgres_db": false})
    );
    let endpoints = body["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2);
    for (endpoint, side, system) in [
        (&endpoints[0], "source", "autotask"),
        (&endpoints[1], "target", "quickbooks_online"),
    ] {
        assert_eq!(endpoint["side"], side);
        assert_eq!(endpoint["system"], system);
        assert_eq!(endpoint["status"], "disconnected");
        assert_eq!(endpoint["account_label"], Value::Null);
        assert_eq!(endpoint["changed_at"], body["created_at"]);
    }
    assert_eq!(body["group"], Value::Null);
    assert_eq!(body["paid_through"], Value::Null);
    assert_eq!(
        body["owner"],
        json!({"id": id(&ada), "display_name": "Ada Admin"})
    );
    assert_eq!(body["postgres_db_set"], false);
    assert!(
        body.get("postgres_db").is_none(),
        "never the connection string"
    );
    assert!(body["created_at"].is_string());

    // What GET answers is what POST answered.
    let got = as_ada.get_connection(&cid).await.expect_json(200).await;
    assert_eq!(got, body);

    // The rows: the connection, its owner's role, two endpoints, one activity entry.
    let q = |sql: String| {
        let app = &app;
        async move { app.scalar(&sql).await }
    };
    assert_eq!(
        q(format!(
            "SELECT COUNT(*) FROM connections WHERE id = '{cid}' AND tenant_id = '{}' \
             AND owner_user_id = '{}' AND status = 'active' AND postgres_db IS NULL",
            tenant.id,
            id(&ada)
        ))
        .await,
        1
    );
    assert_eq!(
        q(format!(
            "SELECT COUNT(*) FROM role_assignments WHERE connection_id = '{cid}'"
        ))
        .await,
        1
    );
    assert_eq!(
        q(format!(
            "SELECT COUNT(*) FROM role_assignments WHERE connection_id = '{cid}' \
             AND user_id = '{}' AND role = 'owner'",
            id(&ada)
        ))
        .await,
        1
    );
    assert_eq!(
        q(format!(
            "SELECT COUNT(*) FROM connection_endpoints WHERE connection_id = '{cid}' \
             AND status = 'disconnected'"
        ))
        .await,
        2
    );
    assert_eq!(app.activity_count(&tenant, "connection.created").await, 1);
    assert_eq!(
        q(format!(
            "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}' \
             AND action = 'connection.created' AND actor_user_id = '{}' \
             AND target_kind = 'connection' AND target_id = '{cid}'",
            id(&ada)
        ))
        .await,
        1
    );
    assert_eq!(
        q(format!(
            "SELECT COUNT(*) FROM activity_log WHERE connection_id = '{cid}'"
        ))
        .await,
        1,
        "exactly one entry for the change"
    );

    // Another elevated user creates a Power BI kind: every setting, every owner action.
    let body = app
        .as_(&bob)
        .create_connection(&new_connection("Board pack", "xero_power_bi"))
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["my_roles"], json!(["owner"]));
    assert_eq!(
        strings(&body["allowed_actions"]),
        set(OWNER_ON_XERO_POWER_BI)
    );
    assert_eq!(
        body["capabilities"],
        json!({"views": true, "financial_settings": true, "postgres_db": true})
    );
    assert_eq!(body["endpoints"][0]["system"], "xero");
    assert_eq!(body["endpoints"][1]["system"], "power_bi");
    assert_eq!(body["owner"]["id"], id(&bob));
    assert_eq!(app.activity_count(&tenant, "connection.created").await, 2);

    // A `read_write` API token acts as its user; a `read` token may not create.
    let token = app.create_token(&ada.access_token, "read_write").await;
    let body = app
        .with_token(&token)
        .create_connection(&new_connection("Scripted", "autotask_xero"))
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["owner"]["id"], id(&ada));
    let read = app.create_token(&ada.access_token, "read").await;
    let before = counts(&app).await;
    app.with_token(&read)
        .create_connection(&new_connection("No", "autotask_xero"))
        .await
        .problem(403, "insufficient_scope")
        .await;
    assert_eq!(counts(&app).await, before);
}

async fn g7_a_limited_user_cannot_create_a_connection(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, _, _, tess) = team(&app).await;
    let before = counts(&app).await;
    let as_tess = app.as_(&tess);
    as_tess
        .create_connection(&new_connection("Mine", "autotask_quickbooks"))
        .await
        .problem(403, "elevated_access_required")
        .await;
    // Refused before the body is judged: an invalid body is still 403.
    as_tess
        .create_connection(&new_connection("", "x"))
        .await
        .problem(403, "elevated_access_required")
        .await;
    assert_eq!(counts(&app).await, before, "nothing changed");
    assert_eq!(app.activity_count(&tenant, "connection.created").await, 0);
    // Without credentials: 401.
    app.anonymous()
        .create_connection(&new_connection("Mine", "autotask_quickbooks"))
        .await
        .problem(401, "unauthenticated")
        .await;
}

async fn s8_invalid_connection_input_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let as_ada = app.as_(&ada);
    let before = counts(&app).await;
    let long = "x".repeat(201);
    let in_zone = |name: &str, kind: &str, timezone: &str| NewConnection {
        timezone: Some(timezone.to_owned()),
        ..new_connection(name, kind)
    };
    let cases: Vec<(NewConnection, Vec<&str>)> = vec![
        (new_connection("   ", "autotask_quickbooks"), vec!["name"]),
        (new_connection(&long, "autotask_quickbooks"), vec!["name"]),
        (
            new_connection("Tab\there", "autotask_quickbooks"),
            vec!["name"],
        ),
        (new_connection("Books", "autotask_sage"), vec!["kind"]),
        (new_connection("Books", "AutotaskQuickbooks"), vec!["kind"]),
        (
            in_zone("Books", "autotask_xero", "Mars/Olympus"),
            vec!["timezone"],
        ),
        (in_zone("Books", "autotask_xero", ""), vec!["timezone"]),
        (
            in_zone("", "nope", "Nowhere"),
            vec!["name", "kind", "timezone"],
        ),
    ];
    let field_set =
        |problem: &Value| -> BTreeSet<String> { error_fields(problem).into_iter().collect() };
    for (body, fields) in cases {
        let problem = as_ada
            .create_connection(&body)
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(field_set(&problem), set(&fields), "errors of {body:?}");
    }
    // Bodies outside the schema.
    let raw_cases: Vec<(Value, Vec<&str>)> = vec![
        // Unknown fields are refused: no side door to the owner, status or settings. The
        // body parser names the field it stopped at.
        (
            json!({"name": "Books", "kind": "autotask_xero", "owner_user_id": "someone"}),
            vec!["owner_user_id"],
        ),
        (
            json!({"name": "Books", "kind": "autotask_xero", "status": "cancelled"}),
            vec!["status"],
        ),
        (json!({"name": "Books"}), vec!["kind"]),
        (json!({"kind": "autotask_xero"}), vec!["name"]),
        (json!({"name": 7, "kind": "autotask_xero"}), vec!["name"]),
        (json!([]), vec!["body"]),
    ];
    for (body, fields) in raw_cases {
        let problem = as_ada
            .raw(Method::POST, "/api/v1/connections", Some(&body))
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(field_set(&problem), set(&fields), "errors of {body}");
    }
    assert_eq!(counts(&app).await, before, "nothing changed");

    // The boundaries are accepted.
    let name = "é".repeat(200);
    let body = as_ada
        .create_connection(&new_connection(&name, "autotask_quickbooks"))
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["name"], name.as_str());
}

async fn s4_the_timezone_defaults_to_the_tenant_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, _) = team(&app).await;
    let as_ada = app.as_(&ada);
    let body = as_ada
        .create_connection(&new_connection("Default", "autotask_quickbooks"))
        .await
        .expect_json(201)
        .await;
    assert_eq!(
        body["timezone"], "UTC",
        "the schema's default tenant timezone"
    );

    as_ada
        .update_settings(&UpdateSettings {
            default_timezone: Some("America/New_York".into()),
            ..Default::default()
        })
        .await
        .expect(200)
        .await;
    let body = as_ada
        .create_connection(&new_connection("Tenant default", "autotask_xero"))
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["timezone"], "America/New_York");
    // An explicit `null` (the typed body leaves an absent zone out).
    let body = as_ada
        .raw(
            Method::POST,
            "/api/v1/connections",
            Some(&json!({"name": "Null timezone", "kind": "autotask_xero", "timezone": null})),
        )
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["timezone"], "America/New_York");
    // An explicit zone wins, spaces trimmed.
    let body = as_ada
        .create_connection(&NewConnection {
            timezone: Some(" Asia/Tokyo ".into()),
            ..new_connection("Tokyo", "autotask_xero")
        })
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["timezone"], "Asia/Tokyo");
    let cid = body["id"].as_str().unwrap();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM connections WHERE id = '{cid}' AND timezone = 'Asia/Tokyo'"
        ))
        .await,
        1
    );
    assert_eq!(app.activity_count(&tenant, "connection.created").await, 4);
}

async fn s5_a_connection_is_invisible_to_users_without_a_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, bob, tess) = team(&app).await;
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let cid = app
        .as_(&ada)
        .create_connection(&new_connection("Private", "autotask_quickbooks"))
        .await
        .expect(201)
        .await
        .id;
    let before = counts(&app).await;

    let absent = app
        .as_(&tess)
        .get_connection("01900000-0000-7000-8000-000000000000")
        .await
        .problem(404, "not_found")
        .await;
    for who in [&tess, &bob, &eve] {
        let c = app.as_(who);
        let problem = c.get_connection(&cid).await.problem(404, "not_found").await;
        // Exactly what an id that never existed gets.
        for key in ["type", "title", "detail", "status", "code"] {
            assert_eq!(problem[key], absent[key], "{key}");
        }
        let list = all_pages(50, async |page| c.list_connections(&page).await).await;
        assert!(list.is_empty(), "{list:?}");
    }
    // Elevated users of the tenant see it only in the governance list; the other tenant's
    // elevated user does not see it at all.
    let as_bob = app.as_(&bob);
    let governance = all_pages(50, async |page| {
        as_bob.list_governance_connections(&page).await
    })
    .await;
    assert_eq!(governance.len(), 1);
    assert_eq!(governance[0]["connection"]["id"], cid.as_str());
    let as_eve = app.as_(&eve);
    let governance = all_pages(50, async |page| {
        as_eve.list_governance_connections(&page).await
    })
    .await;
    assert!(governance.is_empty());
    assert_eq!(counts(&app).await, before, "reads change nothing");
}

async fn s5_1_list_shows_my_connections_with_my_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let (as_ada, as_bob, as_tess) = (app.as_(&ada), app.as_(&bob), app.as_(&tess));
    // Names in mixed case and order; two share a name (ties go by id, i.e. creation order).
    let names = [
        "delta", "Alpha", "charlie", "Bravo", "echo", "same", "Same", "foxtrot",
    ];
    let mut ids = Vec::new();
    for name in names {
        let created = as_ada
            .create_connection(&new_connection(name, "autotask_quickbooks"))
            .await
            .expect(201)
            .await;
        ids.push((name, created.id));
    }
    let bobs = as_bob
        .create_connection(&new_connection("Bob's", "xero_power_bi"))
        .await
        .expect(201)
        .await
        .id;

    let mut expected: Vec<(String, String)> = ids
        .iter()
        .map(|(n, i)| (n.to_lowercase(), i.to_string()))
        .collect();
    expected.sort();
    for limit in [1, 3, 8, 50] {
        let items = all_pages(limit, async |page| as_ada.list_connections(&page).await).await;
        let got: Vec<(String, String)> = items
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_lowercase(),
                    c["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, expected, "limit {limit}: by name, then id, each once");
        for item in &items {
            assert_eq!(item["my_roles"], json!(["owner"]));
            assert_eq!(
                strings(&item["allowed_actions"]),
                set(OWNER_ON_AUTOTASK_QUICKBOOKS)
            );
        }
    }
    let bob_list = all_pages(50, async |page| as_bob.list_connections(&page).await).await;
    assert_eq!(bob_list.len(), 1);
    assert_eq!(bob_list[0]["id"], bobs.as_str());

    // Several roles: the union of their permissions.
    let (_, shared_id) = &ids[0];
    grant(&app, &tenant, shared_id, &id(&tess), "read_only").await;
    grant(&app, &tenant, shared_id, &id(&tess), "it_admin").await;
    let tess_list = all_pages(50, async |page| as_tess.list_connections(&page).await).await;
    assert_eq!(tess_list.len(), 1);
    assert_eq!(tess_list[0]["id"], shared_id.as_str());
    assert_eq!(tess_list[0]["my_roles"], json!(["it_admin", "read_only"]));
    assert_eq!(
        strings(&tess_list[0]["allowed_actions"]),
        set(IT_ADMIN_AND_READ_ONLY)
    );
    assert_eq!(tess_list[0]["owner"]["id"], id(&ada));
    let got = as_tess
        .get_connection(shared_id)
        .await
        .expect_json(200)
        .await;
    assert_eq!(got, tess_list[0]);
    // Read-only alone views and nothing else.
    let (_, other_id) = &ids[1];
    grant(&app, &tenant, other_id, &id(&tess), "read_only").await;
    let body = as_tess.get_connection(other_id).await.json().await;
    assert_eq!(body["my_roles"], json!(["read_only"]));
    assert_eq!(body["allowed_actions"], json!(["view"]));

    // Pagination input is checked.
    for (limit, cursor) in [
        (Some(0), None),
        (Some(201), None),
        (None, Some("not-a-cursor")),
        (None, Some("e30")),
    ] {
        let page = PageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
        };
        as_ada
            .list_connections(&page)
            .await
            .problem(422, "validation_failed")
            .await;
    }
}

async fn s5_4_governance_lists_every_connection_and_flags_orphans(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let as_ada = app.as_(&ada);
    let adas_id = as_ada
        .create_connection(&new_connection("Ada's books", "autotask_quickbooks"))
        .await
        .expect(201)
        .await
        .id;
    let bobs_id = app
        .as_(&bob)
        .create_connection(&new_connection("Bob's board", "quickbooks_power_bi"))
        .await
        .expect(201)
        .await
        .id;
    // Tess holds two roles on Ada's connection: one member, counted once.
    grant(&app, &tenant, &adas_id, &id(&tess), "read_only").await;
    grant(&app, &tenant, &adas_id, &id(&tess), "it_admin").await;
    // Another tenant's connection never shows.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    app.as_(&eve)
        .create_connection(&new_connection("Elsewhere", "autotask_xero"))
        .await
        .expect(201)
        .await;

    app.as_(&tess)
        .list_governance_connections(&PageQuery::default())
        .await
        .problem(403, "elevated_access_required")
        .await;

    let governance = async |limit: u64| {
        all_pages(limit, async |page| {
            as_ada.list_governance_connections(&page).await
        })
        .await
    };
    let rows = governance(1).await;
    assert_eq!(
        rows,
        vec![
            json!({
                "connection": {"id": adas_id, "name": "Ada's books", "kind": "autotask_quickbooks", "status": "active"},
                "owner": {"id": id(&ada), "display_name": "Ada Admin", "access_level": "elevated"},
                "member_count": 2,
                "orphaned": false,
            }),
            json!({
                "connection": {"id": bobs_id, "name": "Bob's board", "kind": "quickbooks_power_bi", "status": "active"},
                "owner": {"id": id(&bob), "display_name": "Bob Finance", "access_level": "elevated"},
                "member_count": 1,
                "orphaned": false,
            }),
        ]
    );

    // Offboarding Bob is never blocked by his ownership; his connection is then orphaned.
    as_ada
        .update_user(&id(&bob), &active(false))
        .await
        .expect(200)
        .await;
    let before = counts(&app).await;
    let rows = governance(50).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["orphaned"], false);
    assert_eq!(rows[1]["connection"]["id"], bobs_id.as_str());
    assert_eq!(rows[1]["owner"]["access_level"], "none");
    assert_eq!(rows[1]["orphaned"], true);
    assert_eq!(counts(&app).await, before, "reads change nothing");

    // Reactivated, Bob owns it again in full.
    as_ada
        .update_user(&id(&bob), &active(true))
        .await
        .expect(200)
        .await;
    let rows = governance(50).await;
    assert_eq!(rows[1]["owner"]["access_level"], "elevated");
    assert_eq!(rows[1]["orphaned"], false);

    // The PSA withdrawing Bob (an inactive resource) orphans it as well.
    tenant.edit_directory(|d| {
        for r in &mut d.resources {
            if r.id == BOB_FINANCE {
                r.is_active = false;
            }
        }
    });
    as_ada.refresh_users().await.expect(200).await;
    let rows = governance(50).await;
    assert_eq!(rows[0]["orphaned"], false);
    assert_eq!(rows[1]["owner"]["access_level"], "none");
    assert_eq!(rows[1]["orphaned"], true);
}
