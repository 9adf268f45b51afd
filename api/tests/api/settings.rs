//! Tenant settings (SPEC S6, G7), on each backend.

use hubkeep_shared::api::{
    AccountingMapping, ActivityQuery, PsaProvider, UpdatePsa, UpdateSettings,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestTenant, fixture_directory, people::*, spawn_app};
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

/// A settings change of the PSA part only.
fn psa(psa: UpdatePsa) -> UpdateSettings {
    UpdateSettings {
        psa: Some(psa),
        ..Default::default()
    }
}

/// `GET /api/v1/activity?limit=200`.
fn last_200() -> ActivityQuery {
    ActivityQuery {
        limit: Some(200),
        ..Default::default()
    }
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

    let res = app.as_(&tess).get_settings().await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await;
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
    let body = app.as_(&ada).get_settings().await.expect_json(200).await;
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
    app.anonymous()
        .get_settings()
        .await
        .problem(401, "unauthenticated")
        .await;
}

async fn g7_limited_user_cannot_edit_settings(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let _ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let before = (app.row_counts().await, stored(&app, &tenant).await);
    let as_tess = app.as_(&tess);

    as_tess
        .update_settings(&UpdateSettings {
            default_timezone: Some("Europe/Paris".into()),
            ..Default::default()
        })
        .await
        .problem(403, "elevated_access_required")
        .await;
    // Refused before the body is judged: an invalid body is still 403.
    as_tess
        .update_settings(&UpdateSettings {
            invitation_expiry_days: Some(0),
            ..Default::default()
        })
        .await
        .problem(403, "elevated_access_required")
        .await;
    as_tess
        .rotate_launch_secret()
        .await
        .problem(403, "elevated_access_required")
        .await;

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
    let as_ada = app.as_(&ada);
    let before = as_ada.get_settings().await.expect_json(200).await;
    let entries = app.count("activity_log").await;

    // The second mapping leaves `description` out (the typed body always sends it).
    let body = as_ada
        .raw(
            Method::PUT,
            "/api/v1/settings",
            Some(&json!({
                "default_timezone": "Europe/Paris",
                "invitation_expiry_days": 14,
                "session_lifetime_hours": 24,
                "accounting_mappings": [
                    { "source_code": "LABOR", "account_code": "4000", "description": "Labour" },
                    { "source_code": " TRAVEL ", "account_code": "4100" },
                ],
            })),
        )
        .await
        .expect_json(200)
        .await;
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
    let seen = app.as_(&tess).get_settings().await.expect_json(200).await;
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
    let mappings = |list: Vec<AccountingMapping>| UpdateSettings {
        accounting_mappings: Some(list),
        ..Default::default()
    };
    let body = as_ada
        .update_settings(&mappings(vec![AccountingMapping {
            source_code: "TRAVEL".into(),
            account_code: "4200".into(),
            description: "Travel".into(),
        }]))
        .await
        .expect_json(200)
        .await;
    assert_eq!(body["accounting_mappings"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["default_timezone"], "Europe/Paris",
        "absent: unchanged"
    );
    as_ada
        .update_settings(&mappings(vec![]))
        .await
        .expect(200)
        .await;
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
    let expiry = |days: i64| UpdateSettings {
        invitation_expiry_days: Some(days),
        ..Default::default()
    };
    let token = app.create_token(&ada.access_token, "read_write").await;
    app.with_token(&token)
        .update_settings(&expiry(30))
        .await
        .expect(200)
        .await;
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
    app.with_token(&read_only)
        .update_settings(&expiry(29))
        .await
        .problem(403, "insufficient_scope")
        .await;
}

async fn s6_a_request_that_changes_nothing_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let before = (app.row_counts().await, stored(&app, &tenant).await);
    let as_ada = app.as_(&ada);
    let current = as_ada.get_settings().await.expect_json(200).await;

    for body in [
        UpdateSettings::default(),
        UpdateSettings {
            default_timezone: Some("UTC".into()),
            invitation_expiry_days: Some(7),
            ..Default::default()
        },
        psa(UpdatePsa {
            provider: Some(PsaProvider::Directory),
            ..Default::default()
        }),
        UpdateSettings {
            accounting_mappings: Some(vec![]),
            ..Default::default()
        },
    ] {
        let res = as_ada.update_settings(&body).await;
        assert_eq!(res.status(), 200, "{body:?}");
        let answered = res.json().await;
        assert_eq!(answered, current, "{body:?}");
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
    let (as_ada, as_tess) = (app.as_(&ada), app.as_(&tess));
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

    let res = as_ada
        .update_settings(&psa(UpdatePsa {
            provider: Some(PsaProvider::Autotask),
            zone_url: Some(Some("https://webservices5.autotask.net/".into())),
            api_user: Some(Some("hub-api@example.test".into())),
            integration_code: Some(Some(AT_CODE.into())),
            secret: Some(Some(AT_SECRET.into())),
        }))
        .await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await;
    let body: Value = serde_json::from_str(&raw).unwrap();
    bodies.push(raw);
    let psa_body = &body["psa"];
    assert_eq!(psa_body["provider"], "autotask");
    assert_eq!(psa_body["zone_url"], "https://webservices5.autotask.net");
    assert_eq!(psa_body["api_user"], "hub-api@example.test");
    assert_eq!(psa_body["integration_code_set"], true);
    assert_eq!(psa_body["secret_set"], true);
    assert_eq!(
        psa_body["directory_path"],
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
    // Sealed at rest (SPEC S14): what opens is what was sent.
    let (_, code, secret) = app.stored_psa_secrets(&tenant.id).await;
    assert_eq!(secret.as_deref(), Some(AT_SECRET));
    assert_eq!(code.as_deref(), Some(AT_CODE));
    let raw = text(
        &app,
        &format!("SELECT autotask_secret FROM psa_settings {where_}"),
    )
    .await
    .unwrap();
    assert!(
        raw.starts_with("sealed:v1:") && !raw.contains(AT_SECRET),
        "{raw}"
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
    let secret = |secret: Option<&str>| {
        psa(UpdatePsa {
            secret: Some(secret.map(str::to_owned)),
            ..Default::default()
        })
    };
    let res = as_ada
        .update_settings(&secret(Some("another-secret-value")))
        .await;
    assert_eq!(res.status(), 200);
    bodies.push(res.text().await);
    let details = latest_details(&app, &tenant, "settings.updated").await;
    assert_eq!(
        details,
        json!({ "psa.secret": { "before": "***", "after": "***" } })
    );
    assert!(!details.to_string().contains("another-secret-value"));
    let res = as_ada.update_settings(&secret(Some(AT_SECRET))).await;
    assert_eq!(res.status(), 200);
    bodies.push(res.text().await);

    // Limited users see that secrets are set, not the account.
    let raw = as_tess.get_settings().await.text().await;
    let seen: Value = serde_json::from_str(&raw).unwrap();
    bodies.push(raw);
    assert_eq!(seen["psa"]["api_user"], Value::Null);
    assert_eq!(seen["psa"]["secret_set"], true);
    assert_eq!(seen["psa"]["zone_url"], "https://webservices5.autotask.net");

    // Autotask needs all three credentials: clearing one is refused.
    let problem = as_ada
        .update_settings(&secret(None))
        .await
        .problem(422, "validation_failed")
        .await;
    assert_eq!(problem["errors"][0]["field"], "psa.secret");
    bodies.push(problem.to_string());

    // Back to the directory, clearing the Autotask credentials.
    let res = as_ada
        .update_settings(&psa(UpdatePsa {
            provider: Some(PsaProvider::Directory),
            zone_url: Some(None),
            api_user: Some(None),
            integration_code: Some(None),
            secret: Some(None),
        }))
        .await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await;
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
    for c in [&as_ada, &as_tess] {
        let res = c.list_activity(&last_200()).await;
        assert_eq!(res.status(), 200);
        bodies.push(res.text().await);
    }
    for c in [&as_ada, &as_tess] {
        let res = c.get_settings().await;
        assert_eq!(res.status(), 200);
        bodies.push(res.text().await);
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
    let as_ada = app.as_(&ada);
    let not_a_directory = app.data_dir().join("not-a-directory.toml");
    std::fs::write(&not_a_directory, "title = \"something else\"\n").unwrap();
    let duplicate_ids = app.data_dir().join("duplicates.toml");
    let mut directory = fixture_directory();
    directory.resources.push(directory.resources[0].clone());
    std::fs::write(&duplicate_ids, toml::to_string(&directory).unwrap()).unwrap();
    let long = "x".repeat(65);
    let before = (app.row_counts().await, stored(&app, &tenant).await);
    let some = |s: &str| Some(Some(s.to_owned()));

    let check = |problem: Value, fields: &[&str], what: String| {
        let mut got: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        got.sort_unstable();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{what} → {problem}");
        assert!(
            !problem.to_string().contains("root:"),
            "file contents never echo"
        );
    };
    let cases: Vec<(UpdateSettings, Vec<&str>)> = vec![
        (
            UpdateSettings {
                default_timezone: Some("Mars/Olympus_Mons".into()),
                ..Default::default()
            },
            vec!["default_timezone"],
        ),
        (
            UpdateSettings {
                default_timezone: Some(String::new()),
                ..Default::default()
            },
            vec!["default_timezone"],
        ),
        (
            UpdateSettings {
                invitation_expiry_days: Some(0),
                session_lifetime_hours: Some(169),
                ..Default::default()
            },
            vec!["invitation_expiry_days", "session_lifetime_hours"],
        ),
        (
            UpdateSettings {
                invitation_expiry_days: Some(31),
                session_lifetime_hours: Some(0),
                ..Default::default()
            },
            vec!["invitation_expiry_days", "session_lifetime_hours"],
        ),
        (
            psa(UpdatePsa {
                provider: Some(PsaProvider::Autotask),
                ..Default::default()
            }),
            vec!["psa.api_user", "psa.integration_code", "psa.secret"],
        ),
        (
            psa(UpdatePsa {
                provider: Some(PsaProvider::Autotask),
                api_user: some("u"),
                integration_code: some("c"),
                secret: some("  "),
                zone_url: some("ftp://zone.example"),
            }),
            vec!["psa.zone_url", "psa.secret"],
        ),
        (
            psa(UpdatePsa {
                zone_url: some("not a url"),
                ..Default::default()
            }),
            vec!["psa.zone_url"],
        ),
        // A valid change next to an invalid one is not applied either.
        (
            UpdateSettings {
                default_timezone: Some("Europe/Paris".into()),
                invitation_expiry_days: Some(99),
                ..Default::default()
            },
            vec!["invitation_expiry_days"],
        ),
    ];
    for (body, fields) in cases {
        let problem = as_ada
            .update_settings(&body)
            .await
            .problem(422, "validation_failed")
            .await;
        check(problem, &fields, format!("{body:?}"));
    }
    // Bodies outside the schema: `directory_path` is the operator's, mappings without a
    // description, fields that are not documented, a wrong type.
    let raw_cases: Vec<(Value, Vec<&str>)> = vec![
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
    for (body, fields) in raw_cases {
        let problem = as_ada
            .raw(Method::PUT, "/api/v1/settings", Some(&body))
            .await
            .problem(422, "validation_failed")
            .await;
        check(problem, &fields, body.to_string());
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
    let as_ada = app.as_(&ada);
    let before = as_ada.get_settings().await.expect_json(200).await;

    // Only from a console session: a token must not yield a secret that signs anyone in.
    let token = app.create_token(&ada.access_token, "read_write").await;
    app.with_token(&token)
        .rotate_launch_secret()
        .await
        .problem(403, "forbidden")
        .await;
    assert_eq!(
        app.activity_count(&tenant, "tenant.launch_secret_rotated")
            .await,
        0
    );

    let res = as_ada.rotate_launch_secret().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let body = res.expect_json(200).await;
    let secret = body["launch_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    assert_ne!(secret, old.launch_secret);
    assert!(body["rotated_at"].is_string());
    assert_eq!(app.stored_psa_secrets(&tenant.id).await.0, secret);

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
    let raw = as_ada.get_settings().await.text().await;
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
    let res = as_ada.list_activity(&last_200()).await;
    assert_no_secret(&res.text().await, &[&secret, &old.launch_secret]);
}
