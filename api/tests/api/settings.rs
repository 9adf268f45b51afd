//! Tenant settings (SPEC S6, G7), on each backend.

use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, TestTenant, assert_problem, fixture_directory, people::*, spawn_app,
};
use crate::on_each_backend;

on_each_backend!(
    s6_limited_users_read_settings_without_secrets,
    g7_limited_user_cannot_edit_settings,
    s6_elevated_users_edit_settings_in_one_logged_change,
    s6_a_request_that_changes_nothing_writes_nothing,
    s6_secrets_are_write_only,
    s6_invalid_settings_change_nothing,
    s6_rotating_the_launch_secret_replaces_it_for_launches,
);

const AT_CODE: &str = "SETTINGS-TEST-INTEGRATION-CODE";
const AT_SECRET: &str = "settings-test-autotask-secret";

async fn put(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/settings"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn read(app: &TestApp, token: &str) -> Value {
    let res = app.get_as("/api/v1/settings", token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The stored settings of a tenant, as text: equal before and after means unchanged.
async fn stored(app: &TestApp, tenant: &TestTenant) -> String {
    use sea_orm::ConnectionTrait as _;
    let backend = app.db.get_database_backend();
    let mut out = String::new();
    for sql in [
        format!(
            "SELECT default_timezone || '|' || invitation_expiry_days || '|' || \
             session_lifetime_hours || '|' || CAST(updated_at AS TEXT) FROM tenant_settings \
             WHERE tenant_id = '{}'",
            tenant.id
        ),
        format!(
            "SELECT provider || '|' || COALESCE(directory_path, '-') || '|' || \
             COALESCE(autotask_zone_url, '-') || '|' || COALESCE(autotask_api_user, '-') || '|' \
             || COALESCE(autotask_integration_code, '-') || '|' || COALESCE(autotask_secret, '-') \
             || '|' || launch_secret || '|' || CAST(updated_at AS TEXT) FROM psa_settings \
             WHERE tenant_id = '{}'",
            tenant.id
        ),
        format!(
            "SELECT position || '|' || source_code || '|' || account_code || '|' || description \
             FROM accounting_mappings WHERE tenant_id = '{}' ORDER BY position",
            tenant.id
        ),
    ] {
        for row in app
            .db
            .query_all_raw(sea_orm::Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            out.push_str(&row.try_get_by_index::<String>(0).unwrap());
            out.push('\n');
        }
    }
    out
}

async fn text(app: &TestApp, sql: &str) -> Option<String> {
    use sea_orm::ConnectionTrait as _;
    app.db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .and_then(|row| row.try_get_by_index::<Option<String>>(0).unwrap())
}

/// The `details` of the tenant's latest entry with this action.
async fn latest_details(app: &TestApp, tenant: &TestTenant, action: &str) -> Value {
    let details = text(
        app,
        &format!(
            "SELECT details FROM activity_log WHERE tenant_id = '{}' AND action = '{action}' \
             ORDER BY at DESC, id DESC LIMIT 1",
            tenant.id
        ),
    )
    .await
    .expect("an entry");
    serde_json::from_str(&details).unwrap()
}

fn assert_no_secret(body: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!body.contains(secret), "a secret leaked into {body}");
    }
}

async fn s6_limited_users_read_settings_without_secrets(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;

    let res = app.get_as("/api/v1/settings", &tess.access_token).await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await.unwrap();
    assert_no_secret(&raw, &[&tenant.launch_secret]);
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(body["default_timezone"], "UTC");
    assert_eq!(body["invitation_expiry_days"], 7);
    assert_eq!(body["session_lifetime_hours"], 12);
    assert_eq!(body["accounting_mappings"], json!([]));
    assert!(body["updated_at"].is_string());
    let psa = &body["psa"];
    assert_eq!(psa["provider"], "directory");
    assert_eq!(
        psa["directory_path"],
        Value::Null,
        "limited users do not see server paths"
    );
    assert_eq!(psa["api_user"], Value::Null);
    assert_eq!(psa["integration_code_set"], false);
    assert_eq!(psa["secret_set"], false);
    assert!(psa["launch_secret_rotated_at"].is_string());
    for hidden in ["launch_secret", "integration_code", "secret"] {
        assert!(psa.get(hidden).is_none(), "{hidden} is never a field");
    }

    // Elevated users see where the directory is.
    let body = read(&app, &ada.access_token).await;
    assert_eq!(
        body["psa"]["directory_path"],
        tenant
            .directory_path
            .as_ref()
            .unwrap()
            .display()
            .to_string()
    );

    // Reading changes nothing and logs nothing; without credentials there is nothing to read.
    assert_eq!(app.activity_count(&tenant, "settings.updated").await, 0);
    assert_problem(app.get("/api/v1/settings").await, 401, "unauthenticated").await;
}

async fn g7_limited_user_cannot_edit_settings(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let _ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let before = (app.row_counts().await, stored(&app, &tenant).await);

    let res = put(
        &app,
        &tess.access_token,
        &json!({ "default_timezone": "Europe/Paris" }),
    )
    .await;
    assert_problem(res, 403, "elevated_access_required").await;
    // Refused before the body is judged: an invalid body is still 403.
    let res = put(
        &app,
        &tess.access_token,
        &json!({ "invitation_expiry_days": 0 }),
    )
    .await;
    assert_problem(res, 403, "elevated_access_required").await;
    let res = app
        .post_json(
            "/api/v1/settings/launch-secret",
            Some(&tess.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, 403, "elevated_access_required").await;

    assert_eq!(
        (app.row_counts().await, stored(&app, &tenant).await),
        before
    );
    assert_eq!(app.activity_count(&tenant, "settings.updated").await, 0);
}

async fn s6_elevated_users_edit_settings_in_one_logged_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let before = read(&app, &ada.access_token).await;
    let entries = app.count("activity_log").await;

    let res = put(
        &app,
        &ada.access_token,
        &json!({
            "default_timezone": "Europe/Paris",
            "invitation_expiry_days": 14,
            "session_lifetime_hours": 24,
            "accounting_mappings": [
                { "source_code": "LABOR", "account_code": "4000", "description": "Labour" },
                { "source_code": " TRAVEL ", "account_code": "4100" },
            ],
        }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["default_timezone"], "Europe/Paris");
    assert_eq!(body["invitation_expiry_days"], 14);
    assert_eq!(body["session_lifetime_hours"], 24);
    assert_eq!(
        body["accounting_mappings"],
        json!([
            { "source_code": "LABOR", "account_code": "4000", "description": "Labour" },
            { "source_code": "TRAVEL", "account_code": "4100", "description": "" },
        ])
    );
    assert_ne!(body["updated_at"], before["updated_at"]);
    assert_eq!(
        body["psa"], before["psa"],
        "the PSA settings were not touched"
    );
    // What the next reader sees, limited users included.
    let seen = read(&app, &tess.access_token).await;
    assert_eq!(seen["accounting_mappings"], body["accounting_mappings"]);
    assert_eq!(seen["default_timezone"], "Europe/Paris");

    // The rows, and exactly one entry for the whole change.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounting_mappings WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await,
        2
    );
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT updated_by FROM tenant_settings WHERE tenant_id = '{}'",
                tenant.id
            )
        )
        .await
        .as_deref(),
        ada.user["id"].as_str()
    );
    assert_eq!(app.count("activity_log").await, entries + 1);
    assert_eq!(app.activity_count(&tenant, "settings.updated").await, 1);
    let details = latest_details(&app, &tenant, "settings.updated").await;
    assert_eq!(
        details["default_timezone"],
        json!({ "before": "UTC", "after": "Europe/Paris" })
    );
    assert_eq!(
        details["invitation_expiry_days"],
        json!({ "before": 7, "after": 14 })
    );
    assert_eq!(
        details["session_lifetime_hours"],
        json!({ "before": 12, "after": 24 })
    );
    assert_eq!(details["accounting_mappings"]["before"], json!([]));
    assert_eq!(
        details["accounting_mappings"]["after"],
        body["accounting_mappings"]
    );
    assert!(details.get("psa.provider").is_none(), "only changed fields");
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT actor_user_id FROM activity_log WHERE tenant_id = '{}' AND action = \
                 'settings.updated'",
                tenant.id
            )
        )
        .await
        .as_deref(),
        ada.user["id"].as_str()
    );

    // Replacing the list replaces it (and keeps its order); an empty list empties it.
    let res = put(
        &app,
        &ada.access_token,
        &json!({ "accounting_mappings": [
            { "source_code": "TRAVEL", "account_code": "4200", "description": "Travel" },
        ]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["accounting_mappings"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["default_timezone"], "Europe/Paris",
        "absent: unchanged"
    );
    let res = put(
        &app,
        &ada.access_token,
        &json!({ "accounting_mappings": [] }),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM accounting_mappings WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await,
        0
    );
    assert_eq!(app.activity_count(&tenant, "settings.updated").await, 3);

    // An API token of an elevated user may edit settings too (scripts keep mappings in step).
    let token = app.create_token(&ada.access_token, "read_write").await;
    let res = put(&app, &token, &json!({ "invitation_expiry_days": 30 })).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT actor_kind FROM activity_log WHERE tenant_id = '{}' AND action = \
                 'settings.updated' ORDER BY at DESC, id DESC LIMIT 1",
                tenant.id
            )
        )
        .await
        .as_deref(),
        Some("api_token")
    );
    let read_only = app.create_token(&ada.access_token, "read").await;
    let res = put(&app, &read_only, &json!({ "invitation_expiry_days": 29 })).await;
    assert_problem(res, 403, "insufficient_scope").await;
}

async fn s6_a_request_that_changes_nothing_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let before = (app.row_counts().await, stored(&app, &tenant).await);
    let current = read(&app, &ada.access_token).await;

    for body in [
        json!({}),
        json!({ "default_timezone": "UTC", "invitation_expiry_days": 7 }),
        json!({ "psa": { "provider": "directory" } }),
        json!({ "accounting_mappings": [] }),
    ] {
        let res = put(&app, &ada.access_token, &body).await;
        assert_eq!(res.status(), 200, "{body}");
        let answered: Value = res.json().await.unwrap();
        assert_eq!(answered, current, "{body}");
    }
    assert_eq!(
        (app.row_counts().await, stored(&app, &tenant).await),
        before
    );
}

async fn s6_secrets_are_write_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let psa_updated_before = text(
        &app,
        &format!(
            "SELECT CAST(updated_at AS TEXT) FROM psa_settings WHERE tenant_id = '{}'",
            tenant.id
        ),
    )
    .await;
    let secrets = [AT_CODE, AT_SECRET, tenant.launch_secret.as_str()];
    let mut bodies = Vec::new();

    let res = put(
        &app,
        &ada.access_token,
        &json!({ "psa": {
            "provider": "autotask",
            "zone_url": "https://webservices5.autotask.net/",
            "api_user": "hub-api@example.test",
            "integration_code": AT_CODE,
            "secret": AT_SECRET,
        }}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&raw).unwrap();
    bodies.push(raw);
    let psa = &body["psa"];
    assert_eq!(psa["provider"], "autotask");
    assert_eq!(psa["zone_url"], "https://webservices5.autotask.net");
    assert_eq!(psa["api_user"], "hub-api@example.test");
    assert_eq!(psa["integration_code_set"], true);
    assert_eq!(psa["secret_set"], true);
    assert_eq!(
        psa["directory_path"],
        tenant
            .directory_path
            .as_ref()
            .unwrap()
            .display()
            .to_string(),
        "kept for switching back"
    );

    // Stored as given; the registry sees a new version and the old PSA's level cache is gone.
    let where_ = format!("WHERE tenant_id = '{}'", tenant.id);
    assert_eq!(
        text(
            &app,
            &format!("SELECT autotask_secret FROM psa_settings {where_}")
        )
        .await
        .as_deref(),
        Some(AT_SECRET)
    );
    assert_eq!(
        text(
            &app,
            &format!("SELECT autotask_integration_code FROM psa_settings {where_}")
        )
        .await
        .as_deref(),
        Some(AT_CODE)
    );
    assert_ne!(
        text(
            &app,
            &format!("SELECT CAST(updated_at AS TEXT) FROM psa_settings {where_}")
        )
        .await,
        psa_updated_before
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM psa_settings {where_} AND levels_fetched_at IS NULL"
        ))
        .await,
        1
    );

    // The log says which secrets changed, never what they are.
    let details = latest_details(&app, &tenant, "settings.updated").await;
    assert_eq!(
        details["psa.secret"],
        json!({ "before": null, "after": "***" })
    );
    assert_eq!(
        details["psa.integration_code"],
        json!({ "before": null, "after": "***" })
    );
    assert_eq!(
        details["psa.provider"],
        json!({ "before": "directory", "after": "autotask" })
    );
    assert_eq!(
        details["psa.api_user"],
        json!({ "before": null, "after": "hub-api@example.test" })
    );
    assert_no_secret(&details.to_string(), &secrets);

    // Replacing a secret logs "***" → "***".
    let res = put(
        &app,
        &ada.access_token,
        &json!({ "psa": { "secret": "another-secret-value" } }),
    )
    .await;
    assert_eq!(res.status(), 200);
    bodies.push(res.text().await.unwrap());
    let details = latest_details(&app, &tenant, "settings.updated").await;
    assert_eq!(
        details,
        json!({ "psa.secret": { "before": "***", "after": "***" } })
    );
    assert!(!details.to_string().contains("another-secret-value"));
    let res = put(
        &app,
        &ada.access_token,
        &json!({ "psa": { "secret": AT_SECRET } }),
    )
    .await;
    assert_eq!(res.status(), 200);
    bodies.push(res.text().await.unwrap());

    // Limited users see that secrets are set, not the account.
    let res = app.get_as("/api/v1/settings", &tess.access_token).await;
    let raw = res.text().await.unwrap();
    let seen: Value = serde_json::from_str(&raw).unwrap();
    bodies.push(raw);
    assert_eq!(seen["psa"]["api_user"], Value::Null);
    assert_eq!(seen["psa"]["secret_set"], true);
    assert_eq!(seen["psa"]["zone_url"], "https://webservices5.autotask.net");

    // Autotask needs all three credentials: clearing one is refused.
    let res = put(
        &app,
        &ada.access_token,
        &json!({ "psa": { "secret": null } }),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "psa.secret");
    bodies.push(problem.to_string());

    // Back to the directory, clearing the Autotask credentials.
    let res = put(
        &app,
        &ada.access_token,
        &json!({ "psa": { "provider": "directory", "api_user": null,
                          "integration_code": null, "secret": null, "zone_url": null } }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&raw).unwrap();
    bodies.push(raw);
    assert_eq!(body["psa"]["provider"], "directory");
    assert_eq!(body["psa"]["secret_set"], false);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM psa_settings {where_} AND autotask_secret IS NULL \
             AND autotask_integration_code IS NULL"
        ))
        .await,
        1
    );
    let details = latest_details(&app, &tenant, "settings.updated").await;
    assert_eq!(
        details["psa.secret"],
        json!({ "before": "***", "after": null })
    );

    // No response and no activity entry carries a secret.
    for path in ["/api/v1/activity?limit=200", "/api/v1/settings"] {
        for token in [&ada.access_token, &tess.access_token] {
            let res = app.get_as(path, token).await;
            assert_eq!(res.status(), 200);
            bodies.push(res.text().await.unwrap());
        }
    }
    for body in &bodies {
        assert_no_secret(body, &secrets);
        assert!(!body.contains("another-secret-value"));
    }
    let all_details = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM activity_log {where_} AND (details LIKE '%{AT_SECRET}%' \
             OR details LIKE '%{AT_CODE}%' OR details LIKE '%another-secret-value%')"
        ))
        .await;
    assert_eq!(all_details, 0);
}

async fn s6_invalid_settings_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let not_a_directory = app.data_dir().join("not-a-directory.toml");
    std::fs::write(&not_a_directory, "title = \"something else\"\n").unwrap();
    let duplicate_ids = app.data_dir().join("duplicates.toml");
    let mut directory = fixture_directory();
    directory.resources.push(directory.resources[0].clone());
    std::fs::write(&duplicate_ids, toml::to_string(&directory).unwrap()).unwrap();
    let long = "x".repeat(65);
    let before = (app.row_counts().await, stored(&app, &tenant).await);

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({ "default_timezone": "Mars/Olympus_Mons" }),
            vec!["default_timezone"],
        ),
        (json!({ "default_timezone": "" }), vec!["default_timezone"]),
        (
            json!({ "invitation_expiry_days": 0, "session_lifetime_hours": 169 }),
            vec!["invitation_expiry_days", "session_lifetime_hours"],
        ),
        (
            json!({ "invitation_expiry_days": 31, "session_lifetime_hours": 0 }),
            vec!["invitation_expiry_days", "session_lifetime_hours"],
        ),
        (
            json!({ "psa": { "provider": "autotask" } }),
            vec!["psa.api_user", "psa.integration_code", "psa.secret"],
        ),
        (
            json!({ "psa": { "provider": "autotask", "api_user": "u", "integration_code": "c",
                             "secret": "  ", "zone_url": "ftp://zone.example" } }),
            vec!["psa.zone_url", "psa.secret"],
        ),
        (
            json!({ "psa": { "zone_url": "not a url" } }),
            vec!["psa.zone_url"],
        ),
        (
            json!({ "psa": { "directory_path": "relative/directory.toml" } }),
            vec!["psa.directory_path"],
        ),
        (
            json!({ "psa": { "directory_path": "/etc/passwd" } }),
            vec!["psa.directory_path"],
        ),
        (
            json!({ "psa": { "directory_path": "/nowhere/directory.toml" } }),
            vec!["psa.directory_path"],
        ),
        (
            json!({ "psa": { "directory_path": not_a_directory.display().to_string() } }),
            vec!["psa.directory_path"],
        ),
        (
            json!({ "psa": { "directory_path": duplicate_ids.display().to_string() } }),
            vec!["psa.directory_path"],
        ),
        (
            json!({ "psa": { "directory_path": null } }),
            vec!["psa.directory_path"],
        ),
        (
            json!({ "accounting_mappings": [
                { "source_code": "A", "account_code": "1" },
                { "source_code": " ", "account_code": "2" },
                { "source_code": "A", "account_code": long },
                { "source_code": "B", "account_code": "3", "description": "d".repeat(201) },
            ]}),
            vec![
                "accounting_mappings.1.source_code",
                "accounting_mappings.2.account_code",
                "accounting_mappings.2.source_code",
                "accounting_mappings.3.description",
            ],
        ),
        // A valid change next to an invalid one is not applied either.
        (
            json!({ "default_timezone": "Europe/Paris", "invitation_expiry_days": 99 }),
            vec!["invitation_expiry_days"],
        ),
        // Only the documented fields: no side door to ids, tenants or the launch secret.
        (json!({ "tenant_id": "other" }), vec!["tenant_id"]),
        (
            json!({ "psa": { "launch_secret": "mine" } }),
            vec!["psa.launch_secret"],
        ),
        (
            json!({ "accounting_mappings": [{ "source_code": "A", "account_code": "1",
                                              "id": "x" }] }),
            vec!["accounting_mappings.0.id"],
        ),
        (
            json!({ "invitation_expiry_days": "seven" }),
            vec!["invitation_expiry_days"],
        ),
    ];
    for (body, fields) in cases {
        let res = put(&app, &ada.access_token, &body).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        let mut got: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        got.sort_unstable();
        let mut want = fields.clone();
        want.sort_unstable();
        assert_eq!(got, want, "{body} → {problem}");
        assert!(
            !problem.to_string().contains("root:"),
            "file contents never echo"
        );
    }
    assert_eq!(
        (app.row_counts().await, stored(&app, &tenant).await),
        before
    );
    assert_eq!(app.activity_count(&tenant, "settings.updated").await, 0);
}

async fn s6_rotating_the_launch_secret_replaces_it_for_launches(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let old = tenant.clone();
    let before = read(&app, &ada.access_token).await;

    // Only from a console session: a token must not yield a secret that signs anyone in.
    let token = app.create_token(&ada.access_token, "read_write").await;
    let res = app
        .post_json("/api/v1/settings/launch-secret", Some(&token), &json!({}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(
        app.activity_count(&tenant, "tenant.launch_secret_rotated")
            .await,
        0
    );

    let res = app
        .post_json(
            "/api/v1/settings/launch-secret",
            Some(&ada.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let body: Value = res.json().await.unwrap();
    let secret = body["launch_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    assert_ne!(secret, old.launch_secret);
    assert!(body["rotated_at"].is_string());
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT launch_secret FROM psa_settings WHERE tenant_id = '{}'",
                tenant.id
            )
        )
        .await,
        Some(secret.clone())
    );

    // The actor is the caller, not the hub; the entry holds no secret.
    assert_eq!(
        app.activity_count(&tenant, "tenant.launch_secret_rotated")
            .await,
        1
    );
    assert_eq!(
        text(
            &app,
            &format!(
                "SELECT actor_user_id FROM activity_log WHERE tenant_id = '{}' AND action = \
                 'tenant.launch_secret_rotated'",
                tenant.id
            )
        )
        .await
        .as_deref(),
        ada.user["id"].as_str()
    );
    let details = latest_details(&app, &tenant, "tenant.launch_secret_rotated").await;
    assert!(!details.to_string().contains(&secret));

    // Launches signed with the old secret fail; the new one works.
    let res = app.launch(&old.assertion(TESS_TECH)).await;
    assert_eq!(res.status(), 401);
    tenant.launch_secret = secret.clone();
    app.sign_in(&tenant, TESS_TECH).await;

    // Settings show the new time, never the secret.
    let res = app.get_as("/api/v1/settings", &ada.access_token).await;
    let raw = res.text().await.unwrap();
    assert_no_secret(&raw, &[&secret, &old.launch_secret]);
    let after: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        after["psa"]["launch_secret_rotated_at"], body["rotated_at"],
        "rotated_at is the stored time"
    );
    assert_ne!(
        after["psa"]["launch_secret_rotated_at"],
        before["psa"]["launch_secret_rotated_at"]
    );
    let res = app
        .get_as("/api/v1/activity?limit=200", &ada.access_token)
        .await;
    assert_no_secret(&res.text().await.unwrap(), &[&secret, &old.launch_secret]);
}
