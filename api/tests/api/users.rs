//! The Users and Access tabs with every guard (SPEC S2, S2.1, S2.2 G1–G7), on each backend.

use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Session, TestApp, TestTenant, assert_problem, fixture_directory, id, levels, patch,
    people::*, put, spawn_app, team,
};
use crate::on_each_backend;

on_each_backend!(
    g1_an_elevated_user_cannot_deactivate_themselves,
    g2_an_elevated_user_cannot_remove_their_own_elevation,
    g3_every_write_on_the_primary_user_is_refused,
    g5_deactivation_keeps_the_user_and_reactivation_restores_them,
    g6_the_users_tab_lists_only_people_who_signed_in,
    g7_limited_users_are_refused_on_every_admin_endpoint,
    s2_grants_need_a_level_eligible_for_elevation,
    s2_the_access_tab_lists_levels_and_saves_the_elevated_set,
    s2_1_elevated_users_oversee_every_api_token,
    s2_1_refresh_users_rereads_the_psa,
    s8_every_sort_order_matches_a_sort_computed_here,
    s8_cursor_pages_cover_every_user_once_under_concurrent_inserts,
    s8_users_filters,
    s1_admin_endpoints_never_reach_another_tenant,
    s8_the_users_list_pages_through_thousands_by_index,
    s8_names_with_control_characters_page_like_any_other,
);

async fn user_row(app: &TestApp, token: &str, user_id: &str) -> Value {
    let res = app.get_as(&format!("/api/v1/users/{user_id}"), token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn g1_an_elevated_user_cannot_deactivate_themselves(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, bob, _) = team(&app).await;
    let before = app.row_counts().await;
    for who in [&bob, &ada] {
        let res = patch(
            &app,
            &who.access_token,
            &format!("/api/v1/users/{}", id(who)),
            &json!({"active": false}),
        )
        .await;
        assert_problem(res, 403, "self_deactivation_forbidden").await;
    }
    assert_eq!(app.row_counts().await, before);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE active = FALSE")
            .await,
        0
    );
    let row = user_row(&app, &bob.access_token, &id(&bob)).await;
    assert!(
        !row["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("deactivate"))
    );
}

async fn g2_an_elevated_user_cannot_remove_their_own_elevation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, _) = team(&app).await;
    let before = app.row_counts().await;

    let res = patch(
        &app,
        &bob.access_token,
        &format!("/api/v1/users/{}", id(&bob)),
        &json!({"elevation": "revoked"}),
    )
    .await;
    assert_problem(res, 409, "self_demotion_forbidden").await;
    // Bob is elevated only through his level: a set without it would demote him.
    let res = put(
        &app,
        &bob.access_token,
        "/api/v1/access/elevated-levels",
        &json!({"level_ids": []}),
    )
    .await;
    assert_problem(res, 409, "self_demotion_forbidden").await;
    assert_eq!(app.row_counts().await, before, "nothing changed");
    assert_eq!(app.count("elevated_levels").await, 1);

    // Once Ada grants him elevation in person, the same save keeps him elevated: allowed.
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&bob)),
        &json!({"elevation": "granted"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = put(
        &app,
        &bob.access_token,
        "/api/v1/access/elevated-levels",
        &json!({"level_ids": []}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("elevated_levels").await, 0);
    let me: Value = app
        .get_as("/api/v1/me", &bob.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["access_level"], "elevated");
    assert_eq!(me["user"]["access_source"], "user_grant");
    assert_eq!(
        app.activity_count(&tenant, "access.elevated_levels_saved")
            .await,
        2
    );
    assert_eq!(
        app.activity_count(&tenant, "user.elevation_changed").await,
        1
    );
}

async fn g3_every_write_on_the_primary_user_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, bob, _) = team(&app).await;
    let before = app.row_counts().await;
    for body in [
        json!({"active": false}),
        json!({"active": true}),
        json!({"elevation": "revoked"}),
        json!({"elevation": "granted"}),
        json!({"elevation": "inherit"}),
        json!({"active": true, "elevation": "inherit"}),
    ] {
        let res = patch(
            &app,
            &bob.access_token,
            &format!("/api/v1/users/{}", id(&ada)),
            &body,
        )
        .await;
        assert_problem(res, 403, "primary_user_immutable").await;
    }
    // Nor can the primary user change their own elevation.
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&ada)),
        &json!({"elevation": "granted"}),
    )
    .await;
    assert_problem(res, 403, "primary_user_immutable").await;
    assert_eq!(app.row_counts().await, before);
    let row = user_row(&app, &bob.access_token, &id(&ada)).await;
    assert_eq!(row["actions"], json!([]));
    // No side door: is_primary is not a field anyone can send.
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&bob)),
        &json!({"is_primary": true}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
}

async fn g5_deactivation_keeps_the_user_and_reactivation_restores_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let token = app.create_token(&tess.access_token, "read").await;
    let tess_entries = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM activity_log WHERE actor_user_id = '{}'",
            id(&tess)
        ))
        .await;

    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&tess)),
        &json!({"active": false}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["active"], false);
    assert_eq!(body["access_level"], "none");
    assert_eq!(body["access_source"], "user_deactivated");
    assert_eq!(body["actions"], json!(["activate", "revoke_elevation"]));
    // SPEC S8.1: the answer is the `User` itself (extended with `actions`), not a wrapper.
    assert!(body.get("user").is_none(), "{body}");
    for field in [
        "id",
        "display_name",
        "email",
        "psa_resource_id",
        "is_primary",
        "active",
        "elevation",
        "access_level",
        "security_level",
        "first_sign_in_at",
        "last_accessed_at",
    ] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }

    // Refused on the very next request, by session and by token.
    assert_problem(
        app.get_as("/api/v1/me", &tess.access_token).await,
        401,
        "reauthorization_required",
    )
    .await;
    assert_problem(app.get_as("/api/v1/me", &token).await, 403, "user_inactive").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL",
            id(&tess)
        ))
        .await,
        0
    );
    // The record, the token and the history stay.
    assert_eq!(app.count("users").await, 3);
    assert_eq!(app.count("api_tokens").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM activity_log WHERE actor_user_id = '{}'",
            id(&tess)
        ))
        .await,
        tess_entries
    );
    assert_eq!(app.activity_count(&tenant, "user.deactivated").await, 1);

    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&tess)),
        &json!({"active": true}),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], tess.user["id"], "the same user");
    assert_eq!(body["access_level"], "limited");
    assert_eq!(app.activity_count(&tenant, "user.activated").await, 1);
    assert_eq!(app.get_as("/api/v1/me", &token).await.status(), 200);
    let again = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(again.user["id"], tess.user["id"]);
}

async fn g6_the_users_tab_lists_only_people_who_signed_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    let page: Value = app
        .get_as("/api/v1/users", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["user"]["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ada Admin", "Bob Finance", "Tess Tech"]);
    assert!(page["next_cursor"].is_null());
}

async fn g7_limited_users_are_refused_on_every_admin_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, tess) = team(&app).await;
    let ada_token = app.create_token(&ada.access_token, "read").await;
    let token_id = app.scalar("SELECT COUNT(*) FROM api_tokens").await;
    let before = app.row_counts().await;
    let ada_id = id(&ada);
    let endpoints: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/v1/security-levels".into(), None),
        ("GET", "/api/v1/access/elevated-levels".into(), None),
        (
            "PUT",
            "/api/v1/access/elevated-levels".into(),
            Some(json!({"level_ids": [levels::TECHNICIAN]})),
        ),
        ("GET", "/api/v1/users".into(), None),
        ("GET", format!("/api/v1/users/{ada_id}"), None),
        (
            "PATCH",
            format!("/api/v1/users/{}", id(&tess)),
            Some(json!({"elevation": "revoked"})),
        ),
        ("POST", "/api/v1/users/refresh".into(), Some(json!({}))),
        ("GET", "/api/v1/tokens".into(), None),
        ("DELETE", format!("/api/v1/tokens/{token_id}"), None),
        (
            "PUT",
            "/api/v1/settings".into(),
            Some(json!({"default_timezone": "Europe/Paris"})),
        ),
        (
            "POST",
            "/api/v1/settings/launch-secret".into(),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in &endpoints {
        let mut req = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&tess.access_token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
        assert_problem(res, 403, "elevated_access_required").await;
    }
    assert_eq!(app.row_counts().await, before, "nothing changed");
    assert_eq!(app.get_as("/api/v1/me", &ada_token).await.status(), 200);
    // The console hides the tabs: the hub actions say so.
    let me: Value = app
        .get_as("/api/v1/me", &tess.access_token)
        .await
        .json()
        .await
        .unwrap();
    let actions = me["hub_actions"].as_array().unwrap();
    assert!(!actions.contains(&json!("manage_users")));
    assert!(!actions.contains(&json!("manage_access")));
}

async fn s2_grants_need_a_level_eligible_for_elevation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, tess) = team(&app).await;
    let before = app.row_counts().await;
    let res = patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&tess)),
        &json!({"elevation": "granted"}),
    )
    .await;
    assert_problem(res, 422, "level_not_eligible").await;
    let res = put(
        &app,
        &ada.access_token,
        "/api/v1/access/elevated-levels",
        &json!({"level_ids": [levels::FINANCE_MANAGER, levels::TECHNICIAN, 999]}),
    )
    .await;
    let body = assert_problem(res, 422, "level_not_eligible").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["level_ids.1", "level_ids.2"]);
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.count("elevated_levels").await, 1);
}

async fn s2_the_access_tab_lists_levels_and_saves_the_elevated_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, _) = team(&app).await;
    let res = app
        .get_as("/api/v1/security-levels", &ada.access_token)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let tech = items
        .iter()
        .find(|l| l["id"] == levels::TECHNICIAN)
        .unwrap();
    assert_eq!(tech["eligible_for_access"], true);
    assert_eq!(tech["eligible_for_elevation"], false);
    assert_eq!(
        tech["missing_for_elevation"],
        json!([
            "qbo_extension_admin",
            "other_extensions_admin",
            "resource_impersonation"
        ])
    );
    let finance = items
        .iter()
        .find(|l| l["id"] == levels::FINANCE_MANAGER)
        .unwrap();
    assert_eq!(finance["elevated"], true);
    let retired = items
        .iter()
        .find(|l| l["id"] == levels::RETIRED_ADMIN)
        .unwrap();
    assert_eq!(retired["eligible_for_access"], false);
    assert_eq!(retired["missing_for_elevation"], json!(["is_active"]));

    let got: Value = app
        .get_as("/api/v1/access/elevated-levels", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, json!({"level_ids": [levels::FINANCE_MANAGER]}));

    // Saving the same set is not a change: no entry.
    let res = put(
        &app,
        &ada.access_token,
        "/api/v1/access/elevated-levels",
        &json!({"level_ids": [levels::FINANCE_MANAGER, levels::FINANCE_MANAGER]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.activity_count(&tenant, "access.elevated_levels_saved")
            .await,
        1
    );
    // Removing the level demotes Bob on his next request; the entry says before/after.
    let res = put(
        &app,
        &ada.access_token,
        "/api/v1/access/elevated-levels",
        &json!({"level_ids": [levels::ADMINISTRATOR]}),
    )
    .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"level_ids": [levels::ADMINISTRATOR]})
    );
    let me: Value = app
        .get_as("/api/v1/me", &bob.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["access_level"], "limited");
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(access_rank AS BIGINT) FROM users WHERE id = '{}'",
            id(&bob)
        ))
        .await,
        1,
        "the stored rank follows"
    );
    let details = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT details FROM activity_log WHERE action = 'access.elevated_levels_saved' \
             ORDER BY at DESC, id DESC",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "details")
        .unwrap();
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(
        details,
        json!({"before": [levels::FINANCE_MANAGER], "after": [levels::ADMINISTRATOR]})
    );
}

async fn s2_1_elevated_users_oversee_every_api_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let secret = app.create_token(&tess.access_token, "read").await;
    let list: Value = app
        .get_as("/api/v1/tokens", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["user_id"], tess.user["id"]);
    assert_eq!(items[0]["user_display_name"], "Tess Tech");
    assert!(items[0].get("token").is_none());
    assert!(!list.to_string().contains(&secret));
    let token_id = items[0]["id"].as_str().unwrap();
    let res = app
        .delete_as(&format!("/api/v1/tokens/{token_id}"), &ada.access_token)
        .await;
    assert_eq!(res.status(), 204);
    assert_problem(
        app.get_as("/api/v1/me", &secret).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(app.activity_count(&tenant, "api_token.revoked").await, 1);
    let res = app
        .delete_as(&format!("/api/v1/tokens/{token_id}"), &ada.access_token)
        .await;
    assert_problem(res, 404, "not_found").await;
}

async fn s2_1_refresh_users_rereads_the_psa(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, tess) = team(&app).await;
    tenant.edit_directory(|d| {
        for r in &mut d.resources {
            if r.id == TESS_TECH {
                r.is_active = false;
            }
            if r.id == BOB_FINANCE {
                r.last_name = "Finance-Smith".into();
            }
        }
    });
    let res = app
        .post_json("/api/v1/users/refresh", Some(&ada.access_token), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary, json!({"checked": 3, "changed": 2}));
    let row = user_row(&app, &ada.access_token, &id(&tess)).await;
    assert_eq!(row["user"]["access_level"], "none");
    assert_eq!(row["user"]["access_source"], "resource_inactive");
    assert_problem(
        app.get_as("/api/v1/me", &tess.access_token).await,
        401,
        "reauthorization_required",
    )
    .await;
    assert_eq!(app.activity_count(&tenant, "users.refreshed").await, 1);
}

/// A directory of `n` extra technicians and admins with varied names.
async fn crowd(app: &TestApp, n: i64) -> (TestTenant, Session) {
    let mut directory = fixture_directory();
    let firsts = [
        "zoë", "Anna", "anna", "Émile", "Bo", "carl", "Dee", "eve", "Finn", "gus",
    ];
    for i in 0..n {
        let level = match i % 3 {
            0 => levels::TECHNICIAN,
            1 => levels::ADMINISTRATOR,
            _ => levels::FINANCE_MANAGER,
        };
        directory.resources.push(hubkeep_shared::PsaResource {
            id: 10_000 + i,
            first_name: firsts[usize::try_from(i).unwrap() % firsts.len()].into(),
            last_name: format!("Person{:03}", (i * 7919) % 1000),
            email: format!("p{i}@crowd.test"),
            user_name: format!("p{i}"),
            is_active: true,
            security_level_id: level,
        });
    }
    let tenant = app.tenant_with_directory(&directory).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    for i in 0..n {
        app.sign_in(&tenant, 10_000 + i).await;
    }
    (tenant, ada)
}

async fn all_pages(app: &TestApp, token: &str, query: &str, limit: u64) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/users?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get_as(&path, token).await;
        assert_eq!(res.status(), 200, "{path}");
        let page: Value = res.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

fn rank(level: &Value) -> i64 {
    match level.as_str().unwrap() {
        "none" => 0,
        "limited" => 1,
        _ => 2,
    }
}

async fn s8_every_sort_order_matches_a_sort_computed_here(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada) = crowd(&app, 210).await;
    // Variety in access: some deactivated, some granted, some revoked.
    let everyone = all_pages(&app, &ada.access_token, "", 200).await;
    assert_eq!(everyone.len(), 211);
    for (i, item) in everyone.iter().enumerate().skip(1).step_by(9) {
        let change = match i % 3 {
            0 => json!({"active": false}),
            1 => json!({"elevation": "revoked"}),
            _ => json!({"active": false, "elevation": "revoked"}),
        };
        let res = patch(
            &app,
            &ada.access_token,
            &format!("/api/v1/users/{}", item["user"]["id"].as_str().unwrap()),
            &change,
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    let everyone = all_pages(&app, &ada.access_token, "", 200).await;
    let key = |item: &Value, sort: &str| -> (String, i64, String) {
        let u = &item["user"];
        match sort {
            "name" => (
                u["display_name"].as_str().unwrap().to_lowercase(),
                0,
                String::new(),
            ),
            "security_level" => (
                u["security_level"]["name"].as_str().unwrap().to_owned(),
                0,
                String::new(),
            ),
            "access_level" => (String::new(), rank(&u["access_level"]), String::new()),
            _ => (
                String::new(),
                0,
                chrono::DateTime::parse_from_rfc3339(u["last_accessed_at"].as_str().unwrap())
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
        }
    };
    for sort in ["name", "security_level", "access_level", "last_accessed"] {
        for order in ["asc", "desc"] {
            let mut expected: Vec<Value> = everyone.clone();
            expected.sort_by(|a, b| {
                let ka = (key(a, sort), a["user"]["id"].as_str().unwrap().to_owned());
                let kb = (key(b, sort), b["user"]["id"].as_str().unwrap().to_owned());
                if order == "asc" {
                    ka.cmp(&kb)
                } else {
                    kb.cmp(&ka)
                }
            });
            let got = all_pages(
                &app,
                &ada.access_token,
                &format!("sort={sort}&order={order}"),
                37,
            )
            .await;
            let ids = |v: &[Value]| -> Vec<String> {
                v.iter()
                    .map(|i| i["user"]["id"].as_str().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(ids(&got), ids(&expected), "sort={sort}&order={order}");
        }
    }
    // A cursor of one order cannot be replayed in another.
    let page: Value = app
        .get_as("/api/v1/users?limit=5&sort=name", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    let res = app
        .get_as(
            &format!("/api/v1/users?limit=5&sort=access_level&cursor={cursor}"),
            &ada.access_token,
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
}

async fn s8_cursor_pages_cover_every_user_once_under_concurrent_inserts(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada) = crowd(&app, 60).await;
    let before: Vec<String> = all_pages(&app, &ada.access_token, "", 200)
        .await
        .iter()
        .map(|i| i["user"]["id"].as_str().unwrap().to_owned())
        .collect();
    // Page slowly while new people sign in between pages.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut newcomer = 0;
    loop {
        let mut path = "/api/v1/users?limit=7&sort=name".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .get_as(&path, &ada.access_token)
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["user"]["id"].as_str().unwrap().to_owned());
        }
        if newcomer < 4 {
            let resource = [BOB_FINANCE, TESS_TECH, TOM_TECH, BOB_FINANCE][newcomer];
            if newcomer < 3 {
                app.sign_in(&tenant, resource).await;
            }
            newcomer += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    for id in &before {
        assert!(seen.contains(id), "{id} was skipped");
    }
}

async fn s8_users_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, tess) = team(&app).await;
    patch(
        &app,
        &ada.access_token,
        &format!("/api/v1/users/{}", id(&tess)),
        &json!({"active": false}),
    )
    .await;
    let names = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["user"]["display_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let t = &ada.access_token;
    assert_eq!(names(all_pages(&app, t, "q=TESS", 50).await), ["Tess Tech"]);
    assert_eq!(
        names(all_pages(&app, t, "q=example.test", 50).await).len(),
        3,
        "email matches"
    );
    assert_eq!(
        names(all_pages(&app, t, "q=%25", 50).await).len(),
        0,
        "% is literal"
    );
    assert_eq!(
        names(all_pages(&app, t, "active=false", 50).await),
        ["Tess Tech"]
    );
    assert_eq!(
        names(all_pages(&app, t, "access_level=elevated", 50).await),
        ["Ada Admin", "Bob Finance"]
    );
    assert_eq!(
        names(all_pages(&app, t, "access_level=none", 50).await),
        ["Tess Tech"]
    );
    for bad in [
        "sort=age",
        "order=up",
        "access_level=admin",
        "limit=0",
        "cursor=x",
        "colour=red",
    ] {
        let res = app.get_as(&format!("/api/v1/users?{bad}"), t).await;
        assert_eq!(res.status(), 422, "{bad}");
    }
}

async fn s1_admin_endpoints_never_reach_another_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, ada, _, _) = team(&app).await;
    // Another tenant with its own admin, a user and a token.
    let other = app.tenant().await;
    let eve = app.sign_in(&other, ADA_ADMIN).await;
    let olly = app.sign_in(&other, TESS_TECH).await;
    app.create_token(&olly.access_token, "read").await;
    let token_id: String = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT id FROM api_tokens WHERE tenant_id = '{}'", other.id),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
    let before = app.row_counts().await;
    for (method, path, body) in [
        ("GET", format!("/api/v1/users/{}", id(&olly)), None),
        ("GET", format!("/api/v1/users/{}", id(&eve)), None),
        (
            "PATCH",
            format!("/api/v1/users/{}", id(&olly)),
            Some(json!({"active": false})),
        ),
        ("DELETE", format!("/api/v1/tokens/{token_id}"), None),
    ] {
        let mut req = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&ada.access_token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        assert_problem(res, 404, "not_found").await;
    }
    assert_eq!(app.row_counts().await, before);
    // Lists show only the caller's tenant.
    let users = all_pages(&app, &ada.access_token, "", 200).await;
    assert_eq!(users.len(), 3);
    let tokens: Value = app
        .get_as("/api/v1/tokens", &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["items"], json!([]));
}

async fn s8_the_users_list_pages_through_thousands_by_index(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    app.seed_users(&tenant.id, 3_000).await;

    for sort in ["name", "security_level", "access_level", "last_accessed"] {
        let items = all_pages(
            &app,
            &ada.access_token,
            &format!("sort={sort}&order=desc"),
            200,
        )
        .await;
        assert_eq!(items.len(), 3_001, "{sort}");
    }
    // The sorted, keyset-filtered query is answered from an index, without sorting the
    // tenant's users (SQLite's plan says so deterministically; PostgreSQL's planner
    // chooses by statistics, so only SQLite's plan is asserted).
    if !app.is_postgres() {
        for column in [
            "name_key",
            "security_level_name",
            "access_rank",
            "last_accessed_at",
        ] {
            let plan = app
                .db
                .query_all_raw(sea_orm::Statement::from_string(
                    app.db.get_database_backend(),
                    format!(
                        "EXPLAIN QUERY PLAN SELECT * FROM users WHERE tenant_id = '{}' \
                         AND ({column} > 'x' OR ({column} = 'x' AND id > 'y')) \
                         ORDER BY {column} DESC, id DESC LIMIT 51",
                        tenant.id
                    ),
                ))
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String>("", "detail").unwrap())
                .collect::<Vec<_>>()
                .join("; ");
            assert!(plan.contains("USING INDEX"), "{column}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{column} sorts: {plan}");
        }
    }
}

/// Measures the Users tab at 100,000 users (SQLite): `cargo test -p hubkeep-api --test api
/// -- --ignored users_list_at_scale --nocapture`. Not a pass/fail speed test: it prints.
#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn users_list_at_scale() {
    let app = spawn_app(Backend::Sqlite).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let started = std::time::Instant::now();
    app.seed_users(&tenant.id, 100_000).await;
    println!("seeded 100000 users in {:?}", started.elapsed());
    for sort in ["name", "security_level", "access_level", "last_accessed"] {
        for order in ["asc", "desc"] {
            let mut cursor: Option<String> = None;
            let mut slowest = std::time::Duration::ZERO;
            for _ in 0..20 {
                let mut path = format!("/api/v1/users?limit=50&sort={sort}&order={order}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let t = std::time::Instant::now();
                let page: Value = app
                    .get_as(&path, &ada.access_token)
                    .await
                    .json()
                    .await
                    .unwrap();
                slowest = slowest.max(t.elapsed());
                cursor = page["next_cursor"].as_str().map(str::to_owned);
            }
            println!("sort={sort} order={order}: slowest of 20 pages {slowest:?}");
        }
    }
}

/// PSA names are data as the PSA sends them, control characters included (mis-encoded
/// Windows-1252 text often carries U+0080–U+009F): the cursors that carry them must be
/// accepted back, whatever the sort.
async fn s8_names_with_control_characters_page_like_any_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut directory = fixture_directory();
    for (resource, last) in
        directory
            .resources
            .iter_mut()
            .zip(["Nel\u{85}son", "Del\u{7f}ta", "Tab\tby"])
    {
        resource.last_name = last.to_owned();
    }
    let tenant = app.tenant_with_directory(&directory).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let mut ids = vec![id(&ada)];
    for person in [BOB_FINANCE, TESS_TECH, TOM_TECH] {
        ids.push(id(&app.sign_in(&tenant, person).await));
    }
    ids.sort();
    for sort in ["name", "security_level", "access_level", "last_accessed"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/users?sort={sort}&limit=1");
        loop {
            let res = app.get_as(&path, &ada.access_token).await;
            assert_eq!(res.status(), 200, "{path}");
            let page: Value = res.json().await.unwrap();
            for item in page["items"].as_array().unwrap() {
                seen.push(item["user"]["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/users?sort={sort}&limit=1&cursor={cursor}"),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ids, "every user once, sorted by {sort}");
    }
}
