//! Connections: create, list mine, read one, governance (SPEC S2.1, S4, S5, S5.4, S8), on
//! each backend. Expected permissions are written here from SPEC S4/S5, never derived from
//! `shared`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, grant, id, patch, people::*, put, spawn_app, team,
};
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

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post_json("/api/v1/connections", Some(token), body)
        .await
}

/// Creates a connection (must succeed) and returns its body.
async fn created(app: &TestApp, token: &str, name: &str, kind: &str) -> Value {
    let res = create(app, token, &json!({"name": name, "kind": kind})).await;
    assert_eq!(res.status(), 201, "create {name}");
    res.json().await.unwrap()
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

/// Every item of a paginated list, following `next_cursor` at `limit` per page.
async fn all_pages(app: &TestApp, token: &str, path: &str, limit: u64) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = format!("{path}?limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = app.get_as(&url, token).await;
        assert_eq!(res.status(), 200, "{url}");
        let page: Value = res.json().await.unwrap();
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= usize::try_from(limit).unwrap());
        items.extend(page_items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("the list never ended");
}

async fn s2_1_an_elevated_user_creates_a_connection_and_becomes_its_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, _) = team(&app).await;

    let res = create(
        &app,
        &ada.access_token,
        &json!({"name": "  Contoso books  ", "kind": "autotask_quickbooks", "timezone": "Europe/London"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
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
    let res = app
        .get_as(&format!("/api/v1/connections/{cid}"), &ada.access_token)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), body);

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
    let body = created(&app, &bob.access_token, "Board pack", "xero_power_bi").await;
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
    let body = created(&app, &token, "Scripted", "autotask_xero").await;
    assert_eq!(body["owner"]["id"], id(&ada));
    let read = app.create_token(&ada.access_token, "read").await;
    let before = counts(&app).await;
    let res = create(&app, &read, &json!({"name": "No", "kind": "autotask_xero"})).await;
    assert_problem(res, 403, "insufficient_scope").await;
    assert_eq!(counts(&app).await, before);
}

async fn g7_a_limited_user_cannot_create_a_connection(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, _, _, tess) = team(&app).await;
    let before = counts(&app).await;
    let res = create(
        &app,
        &tess.access_token,
        &json!({"name": "Mine", "kind": "autotask_quickbooks"}),
    )
    .await;
    assert_problem(res, 403, "elevated_access_required").await;
    // Refused before the body is judged: an invalid body is still 403.
    let res = create(&app, &tess.access_token, &json!({"name": "", "kind": "x"})).await;
    assert_problem(res, 403, "elevated_access_required").await;
    assert_eq!(counts(&app).await, before, "nothing changed");
    assert_eq!(app.activity_count(&tenant, "connection.created").await, 0);
    // Without credentials: 401.
    let res = app
        .post_json(
            "/api/v1/connections",
            None,
            &json!({"name": "Mine", "kind": "autotask_quickbooks"}),
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;
}

async fn s8_invalid_connection_input_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let before = counts(&app).await;
    let long = "x".repeat(201);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"name": "   ", "kind": "autotask_quickbooks"}),
            vec!["name"],
        ),
        (
            json!({"name": long, "kind": "autotask_quickbooks"}),
            vec!["name"],
        ),
        (
            json!({"name": "Tab\there", "kind": "autotask_quickbooks"}),
            vec!["name"],
        ),
        (
            json!({"name": "Books", "kind": "autotask_sage"}),
            vec!["kind"],
        ),
        (
            json!({"name": "Books", "kind": "AutotaskQuickbooks"}),
            vec!["kind"],
        ),
        (
            json!({"name": "Books", "kind": "autotask_xero", "timezone": "Mars/Olympus"}),
            vec!["timezone"],
        ),
        (
            json!({"name": "Books", "kind": "autotask_xero", "timezone": ""}),
            vec!["timezone"],
        ),
        (
            json!({"name": "", "kind": "nope", "timezone": "Nowhere"}),
            vec!["name", "kind", "timezone"],
        ),
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
    for (body, fields) in cases {
        let res = create(&app, &ada.access_token, &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        let got: BTreeSet<String> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, set(&fields), "errors of {body}");
    }
    assert_eq!(counts(&app).await, before, "nothing changed");

    // The boundaries are accepted.
    let name = "é".repeat(200);
    let body = created(&app, &ada.access_token, &name, "autotask_quickbooks").await;
    assert_eq!(body["name"], name.as_str());
}

async fn s4_the_timezone_defaults_to_the_tenant_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, _) = team(&app).await;
    let body = created(&app, &ada.access_token, "Default", "autotask_quickbooks").await;
    assert_eq!(
        body["timezone"], "UTC",
        "the schema's default tenant timezone"
    );

    let res = put(
        &app,
        &ada.access_token,
        "/api/v1/settings",
        &json!({"default_timezone": "America/New_York"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body = created(&app, &ada.access_token, "Tenant default", "autotask_xero").await;
    assert_eq!(body["timezone"], "America/New_York");
    let res = create(
        &app,
        &ada.access_token,
        &json!({"name": "Null timezone", "kind": "autotask_xero", "timezone": null}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>().await.unwrap()["timezone"],
        "America/New_York"
    );
    // An explicit zone wins, spaces trimmed.
    let res = create(
        &app,
        &ada.access_token,
        &json!({"name": "Tokyo", "kind": "autotask_xero", "timezone": " Asia/Tokyo "}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
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
    let body = created(&app, &ada.access_token, "Private", "autotask_quickbooks").await;
    let cid = body["id"].as_str().unwrap().to_owned();
    let before = counts(&app).await;

    let absent = app
        .get_as(
            "/api/v1/connections/01900000-0000-7000-8000-000000000000",
            &tess.access_token,
        )
        .await;
    let absent = assert_problem(absent, 404, "not_found").await;
    for who in [&tess, &bob, &eve] {
        let res = app
            .get_as(&format!("/api/v1/connections/{cid}"), &who.access_token)
            .await;
        let problem = assert_problem(res, 404, "not_found").await;
        // Exactly what an id that never existed gets.
        for key in ["type", "title", "detail", "status", "code"] {
            assert_eq!(problem[key], absent[key], "{key}");
        }
        let list = all_pages(&app, &who.access_token, "/api/v1/connections", 50).await;
        assert!(list.is_empty(), "{list:?}");
    }
    // Elevated users of the tenant see it only in the governance list; the other tenant's
    // elevated user does not see it at all.
    let governance = all_pages(
        &app,
        &bob.access_token,
        "/api/v1/connections/governance",
        50,
    )
    .await;
    assert_eq!(governance.len(), 1);
    assert_eq!(governance[0]["connection"]["id"], cid.as_str());
    let governance = all_pages(
        &app,
        &eve.access_token,
        "/api/v1/connections/governance",
        50,
    )
    .await;
    assert!(governance.is_empty());
    assert_eq!(counts(&app).await, before, "reads change nothing");
}

async fn s5_1_list_shows_my_connections_with_my_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    // Names in mixed case and order; two share a name (ties go by id, i.e. creation order).
    let names = [
        "delta", "Alpha", "charlie", "Bravo", "echo", "same", "Same", "foxtrot",
    ];
    let mut ids = Vec::new();
    for name in names {
        let body = created(&app, &ada.access_token, name, "autotask_quickbooks").await;
        ids.push((name, body["id"].as_str().unwrap().to_owned()));
    }
    let bobs = created(&app, &bob.access_token, "Bob's", "xero_power_bi").await;

    let mut expected: Vec<(String, String)> = ids
        .iter()
        .map(|(n, i)| (n.to_lowercase(), i.clone()))
        .collect();
    expected.sort();
    for limit in [1, 3, 8, 50] {
        let items = all_pages(&app, &ada.access_token, "/api/v1/connections", limit).await;
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
    let bob_list = all_pages(&app, &bob.access_token, "/api/v1/connections", 50).await;
    assert_eq!(bob_list.len(), 1);
    assert_eq!(bob_list[0]["id"], bobs["id"]);

    // Several roles: the union of their permissions.
    let (_, shared_id) = &ids[0];
    grant(&app, &tenant, shared_id, &id(&tess), "read_only").await;
    grant(&app, &tenant, shared_id, &id(&tess), "it_admin").await;
    let tess_list = all_pages(&app, &tess.access_token, "/api/v1/connections", 50).await;
    assert_eq!(tess_list.len(), 1);
    assert_eq!(tess_list[0]["id"], shared_id.as_str());
    assert_eq!(tess_list[0]["my_roles"], json!(["it_admin", "read_only"]));
    assert_eq!(
        strings(&tess_list[0]["allowed_actions"]),
        set(IT_ADMIN_AND_READ_ONLY)
    );
    assert_eq!(tess_list[0]["owner"]["id"], id(&ada));
    let res = app
        .get_as(
            &format!("/api/v1/connections/{shared_id}"),
            &tess.access_token,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), tess_list[0]);
    // Read-only alone views and nothing else.
    let (_, other_id) = &ids[1];
    grant(&app, &tenant, other_id, &id(&tess), "read_only").await;
    let res = app
        .get_as(
            &format!("/api/v1/connections/{other_id}"),
            &tess.access_token,
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["my_roles"], json!(["read_only"]));
    assert_eq!(body["allowed_actions"], json!(["view"]));

    // Pagination input is checked.
    for query in ["limit=0", "limit=201", "cursor=not-a-cursor", "cursor=e30"] {
        let res = app
            .get_as(&format!("/api/v1/connections?{query}"), &ada.access_token)
            .await;
        assert_problem(res, 422, "validation_failed").await;
    }
}

async fn s5_4_governance_lists_every_connection_and_flags_orphans(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let adas = created(
        &app,
        &ada.access_token,
        "Ada's books",
        "autotask_quickbooks",
    )
    .await;
    let bobs = created(
        &app,
        &bob.access_token,
        "Bob's board",
        "quickbooks_power_bi",
    )
    .await;
    let adas_id = adas["id"].as_str().unwrap().to_owned();
    let bobs_id = bobs["id"].as_str().unwrap().to_owned();
    // Tess holds two roles on Ada's connection: one member, counted once.
    grant(&app, &tenant, &adas_id, &id(&tess), "read_only").await;
    grant(&app, &tenant, &adas_id, &id(&tess), "it_admin").await;
    // Another tenant's connection never shows.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    created(&app, &eve.access_token, "Elsewhere", "autotask_xero").await;

    let res = app
        .get_as("/api/v1/connections/governance", &tess.access_token)
        .await;
    assert_problem(res, 403, "elevated_access_required").await;

    let rows = all_pages(&app, &ada.access_token, "/api/v1/connections/governance", 1).await;
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
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&bob)),
        &json!({"active": false}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let before = counts(&app).await;
    let rows = all_pages(
        &app,
        &ada.access_token,
        "/api/v1/connections/governance",
        50,
    )
    .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["orphaned"], false);
    assert_eq!(rows[1]["connection"]["id"], bobs_id.as_str());
    assert_eq!(rows[1]["owner"]["access_level"], "none");
    assert_eq!(rows[1]["orphaned"], true);
    assert_eq!(counts(&app).await, before, "reads change nothing");

    // Reactivated, Bob owns it again in full.
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&bob)),
        &json!({"active": true}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let rows = all_pages(
        &app,
        &ada.access_token,
        "/api/v1/connections/governance",
        50,
    )
    .await;
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
    let res = app
        .post_json("/api/v1/users/refresh", Some(&ada.access_token), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let rows = all_pages(
        &app,
        &ada.access_token,
        "/api/v1/connections/governance",
        50,
    )
    .await;
    assert_eq!(rows[0]["orphaned"], false);
    assert_eq!(rows[1]["owner"]["access_level"], "none");
    assert_eq!(rows[1]["orphaned"], true);
}
