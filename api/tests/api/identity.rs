//! Sign-in, sessions and API tokens (SPEC S2, S3, S7), on each backend.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hubkeep_shared::TokenScope;
use hubkeep_shared::api::{CreateToken, PageQuery};
use reqwest::Method;
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, levels, people::*, session_from, sign_hs256, spawn_app, spawn_app_with,
};
use crate::on_each_backend;

on_each_backend!(
    g4_first_sign_in_creates_the_primary_user,
    g4_first_sign_in_without_elevation_eligibility_creates_nothing,
    s3_2_second_sign_in_of_a_resource_reuses_its_user,
    s2_later_users_follow_their_security_level,
    s2_inactive_resource_inactive_level_or_no_hub_menu_cannot_sign_in,
    s3_2_a_replayed_launch_assertion_is_refused,
    s3_2_invalid_launch_assertions_are_refused_and_change_nothing,
    s3_3_access_tokens_that_are_not_ours_are_refused,
    s3_3_refresh_rotates_and_reuse_revokes_the_session,
    s3_3_an_expired_session_requires_reauthorization,
    s3_3_refresh_rechecks_the_psa,
    s2_a_deactivated_users_jwt_and_api_token_stop_working_on_the_next_request,
    s3_3_logout_revokes_the_session,
    s3_4_api_token_lifecycle,
    s3_4_a_read_token_cannot_write,
    s3_4_tokens_cannot_mint_tokens_and_invalid_input_creates_nothing,
    s3_4_expired_tokens_and_other_users_tokens,
    s8_me_returns_the_user_access_level_and_hub_actions,
    s3_2_concurrent_first_sign_ins_make_exactly_one_primary,
    s2_stored_access_follows_the_psa_for_users_who_are_not_signing_in,
    s8_launch_and_refresh_are_rate_limited_per_address,
    s14_unknown_issuer_and_bad_signature_answer_alike,
    s3_3_a_warm_read_cache_never_outlives_a_change,
);

async fn g4_first_sign_in_creates_the_primary_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;

    let res = app.launch(&tenant.assertion(ADA_ADMIN)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("cache-control").unwrap(),
        "no-store",
        "tokens are never cached"
    );
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].as_str().unwrap().len() > 40);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    let user = &body["user"];
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
        assert!(user.get(field).is_some(), "User has {field}: {user}");
    }
    assert_eq!(user["display_name"], "Ada Admin");
    assert_eq!(user["psa_resource_id"], ADA_ADMIN);
    assert_eq!(user["is_primary"], true);
    assert_eq!(user["active"], true);
    assert_eq!(user["elevation"], "inherit");
    assert_eq!(user["access_level"], "elevated");
    assert_eq!(user["access_source"], "primary");
    assert_eq!(
        user["security_level"],
        json!({"id": levels::ADMINISTRATOR, "name": "Administrator"})
    );

    assert_eq!(app.count("users").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE tenant_id = '{}' AND is_primary = TRUE",
            tenant.id
        ))
        .await,
        1
    );
    assert_eq!(app.count("sessions").await, 1);
    assert_eq!(app.activity_count(&tenant, "user.signed_in").await, 1);
    // The entry names the actor, the target and the request it came from.
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT actor_kind, actor_user_id, target_kind, target_id, request_id, ip, details \
             FROM activity_log WHERE action = 'user.signed_in'",
        ))
        .await
        .unwrap()
        .unwrap();
    let get = |c: &str| row.try_get::<Option<String>>("", c).unwrap();
    assert_eq!(get("actor_kind").as_deref(), Some("user"));
    assert_eq!(get("actor_user_id").as_deref(), user["id"].as_str());
    assert_eq!(get("target_kind").as_deref(), Some("user"));
    assert_eq!(get("target_id").as_deref(), user["id"].as_str());
    assert_eq!(get("request_id"), Some(request_id));
    assert_eq!(get("ip").as_deref(), Some("127.0.0.1"));
    let details: Value = serde_json::from_str(&get("details").unwrap()).unwrap();
    assert_eq!(details["first_sign_in"], true);
    assert_eq!(details["primary"], true);
}

async fn g4_first_sign_in_without_elevation_eligibility_creates_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let before = app.row_counts().await;

    let res = app.launch(&tenant.assertion(TESS_TECH)).await;
    res.problem(403, "primary_requires_elevation").await;

    assert_eq!(app.row_counts().await, before, "no user, session or entry");
    assert_eq!(app.count("users").await, 0);
    // The eligible resource can still become the primary afterwards.
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    assert_eq!(ada.user["is_primary"], true);
}

async fn s3_2_second_sign_in_of_a_resource_reuses_its_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let first = app.sign_in(&tenant, ADA_ADMIN).await;
    let second = app.sign_in(&tenant, ADA_ADMIN).await;

    assert_eq!(first.user["id"], second.user["id"]);
    assert_eq!(
        first.user["first_sign_in_at"],
        second.user["first_sign_in_at"]
    );
    assert!(
        second.user["last_accessed_at"].as_str().unwrap()
            >= first.user["last_accessed_at"].as_str().unwrap()
    );
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("sessions").await, 2, "each sign-in is a session");
    assert_eq!(app.activity_count(&tenant, "user.signed_in").await, 2);
}

async fn s2_later_users_follow_their_security_level(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    app.sign_in(&tenant, ADA_ADMIN).await;

    let tess = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(tess.user["is_primary"], false);
    assert_eq!(tess.user["access_level"], "limited");
    assert_eq!(tess.user["access_source"], "not_eligible_for_elevation");

    // Eligible for elevation, but the Access tab has not elevated the level.
    let bob = app.sign_in(&tenant, BOB_FINANCE).await;
    assert_eq!(bob.user["access_level"], "limited");
    assert_eq!(bob.user["access_source"], "security_level_default");

    // Once the level is in the saved set, the next request sees it.
    app.scalar(&format!(
        "SELECT COUNT(*) FROM tenants WHERE id = '{}'",
        tenant.id
    ))
    .await;
    app.db
        .execute_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "INSERT INTO elevated_levels (tenant_id, level_id, saved_by, saved_at) \
                 VALUES ('{}', {}, NULL, CURRENT_TIMESTAMP)",
                tenant.id,
                levels::FINANCE_MANAGER
            ),
        ))
        .await
        .unwrap();
    let body: Value = app.as_(&bob).get_me().await.json().await;
    assert_eq!(body["access_level"], "elevated");
    assert_eq!(body["user"]["access_source"], "security_level_grant");
}

async fn s2_inactive_resource_inactive_level_or_no_hub_menu_cannot_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    app.sign_in(&tenant, ADA_ADMIN).await;
    let before = app.row_counts().await;

    for (resource, why) in [
        (IVAN_INACTIVE, "inactive resource"),
        (OLGA_OLD_LEVEL, "inactive security level"),
        (NINA_NO_MENU, "no hub_menu"),
        (999_999, "unknown to the PSA"),
    ] {
        let res = app.launch(&tenant.assertion(resource)).await;
        assert_eq!(res.status(), 403, "{why}");
        res.problem(403, "access_not_eligible").await;
    }
    assert_eq!(app.row_counts().await, before, "nobody was created");
}

async fn s3_2_a_replayed_launch_assertion_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let assertion = tenant.assertion(ADA_ADMIN);
    assert_eq!(app.launch(&assertion).await.status(), 200);

    let res = app.launch(&assertion).await;
    let body = res.problem(401, "unauthenticated").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already been used")
    );
    assert_eq!(app.count("sessions").await, 1);
    assert_eq!(app.count("launch_assertions").await, 1);
    assert_eq!(app.activity_count(&tenant, "user.signed_in").await, 1);
}

/// A token named `name` with `scope`, never expiring.
fn token(name: &str, scope: TokenScope) -> CreateToken {
    CreateToken {
        name: name.to_owned(),
        scope,
        expires_at: None,
    }
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn s3_2_invalid_launch_assertions_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let now = chrono::Utc::now().timestamp();
    let valid = tenant.assertion(ADA_ADMIN);
    let (head, rest) = valid.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_payload = URL_SAFE_NO_PAD.encode(
        json!({"iss": tenant.psa_id, "aud": "hubkeep", "sub": "200", "iat": now,
               "exp": now + 60, "jti": "x"})
        .to_string(),
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            tenant.assertion_with(ADA_ADMIN, |c| {
                c["iat"] = json!(now - 300);
                c["exp"] = json!(now - 200);
            }),
        ),
        (
            "wrong aud",
            tenant.assertion_with(ADA_ADMIN, |c| c["aud"] = json!("someone-else")),
        ),
        (
            "unknown iss",
            tenant.assertion_with(ADA_ADMIN, |c| c["iss"] = json!("not-a-tenant")),
        ),
        (
            "lifetime over 120 s",
            tenant.assertion_with(ADA_ADMIN, |c| c["exp"] = json!(now + 121)),
        ),
        (
            "not yet valid",
            tenant.assertion_with(ADA_ADMIN, |c| c["nbf"] = json!(now + 100)),
        ),
        (
            "no jti",
            tenant.assertion_with(ADA_ADMIN, |c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
        (
            "no exp",
            tenant.assertion_with(ADA_ADMIN, |c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "sub is not a resource id",
            tenant.assertion_with(ADA_ADMIN, |c| c["sub"] = json!("ada")),
        ),
        (
            "signed with another secret",
            sign_hs256(
                &json!({"iss": tenant.psa_id, "aud": "hubkeep", "sub": "100", "iat": now,
                        "exp": now + 60, "jti": "other-secret"}),
                "not-the-launch-secret-not-the-launch-secret",
            ),
        ),
        (
            "alg none",
            unsigned(
                &json!({"alg": "none", "typ": "JWT"}),
                &json!({"iss": tenant.psa_id, "aud": "hubkeep", "sub": "100", "iat": now,
                        "exp": now + 60, "jti": "alg-none"}),
            ),
        ),
        (
            "tampered payload",
            format!("{head}.{forged_payload}.{signature}"),
        ),
        ("not a JWT", "hello".to_owned()),
    ];
    for (why, assertion) in cases {
        let res = app.launch(&assertion).await;
        assert_eq!(res.status(), 401, "{why}");
        res.problem(401, "unauthenticated").await;
    }
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("launch_assertions").await, 0);
    assert_eq!(app.count("activity_log").await, 1, "only tenant.created");

    // An unknown field in the body is invalid input, not a sign-in.
    app.anonymous()
        .raw(
            Method::POST,
            "/api/v1/auth/launch",
            Some(&json!({"assertion": valid, "user_id": "x"})),
        )
        .await
        .problem(422, "validation_failed")
        .await;
    assert_eq!(app.count("users").await, 0);
}

fn server_key(app: &TestApp) -> (String, String) {
    let text = std::fs::read_to_string(app.data_dir().join("signing-key.json")).unwrap();
    let key: Value = serde_json::from_str(&text).unwrap();
    (
        key["id"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    )
}

async fn s3_3_access_tokens_that_are_not_ours_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    assert_eq!(app.as_(&ada).get_me().await.status(), 200);

    // Read the real claims back, then vary one thing at a time.
    let payload = ada.access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let (kid, secret) = server_key(&app);
    let now = chrono::Utc::now().timestamp();
    let sign = |kid: Option<&str>, claims: &Value, secret: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    // Sanity: re-signing the same claims with the real key works.
    assert_eq!(
        app.with_token(&sign(Some(&kid), &claims, &secret))
            .get_me()
            .await
            .status(),
        200
    );
    let (head, rest) = ada.access_token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let other_user = URL_SAFE_NO_PAD.encode(with("sub", json!("someone-else")).to_string());
    let cases = vec![
        ("unknown kid", sign(Some("rotated-away"), &claims, &secret)),
        ("no kid", sign(None, &claims, &secret)),
        (
            "wrong key",
            sign(Some(&kid), &claims, "an-attacker-secret-an-attacker-secret"),
        ),
        (
            "expired",
            sign(Some(&kid), &with("exp", json!(now - 120)), &secret),
        ),
        (
            "wrong aud",
            sign(Some(&kid), &with("aud", json!("hubkeep")), &secret),
        ),
        (
            "wrong iss",
            sign(Some(&kid), &with("iss", json!("evil")), &secret),
        ),
        (
            "alg none",
            unsigned(&json!({"alg": "none", "kid": kid}), &claims),
        ),
        ("tampered", format!("{head}.{other_user}.{signature}")),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (why, token) in cases {
        let res = app.with_token(&token).get_me().await;
        assert_eq!(res.status(), 401, "{why}");
        res.problem(401, "unauthenticated").await;
    }
    // No credentials at all.
    app.anonymous()
        .get_me()
        .await
        .problem(401, "unauthenticated")
        .await;
}

async fn s3_3_refresh_rotates_and_reuse_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let first = app.sign_in(&tenant, ADA_ADMIN).await;

    let res = app.refresh(&first.refresh_token).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let second = session_from(res.json().await);
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");
    assert_eq!(second.user["id"], first.user["id"]);
    assert_eq!(app.as_(&second).get_me().await.status(), 200);
    assert_eq!(app.activity_count(&tenant, "session.refreshed").await, 1);

    // The old refresh token again: a replay. The whole session goes.
    let res = app.refresh(&first.refresh_token).await;
    res.problem(401, "reauthorization_required").await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(app.activity_count(&tenant, "session.revoked").await, 1);
    let res = app.as_(&second).get_me().await;
    res.problem(401, "reauthorization_required").await;
    let res = app.refresh(&second.refresh_token).await;
    res.problem(401, "reauthorization_required").await;
    assert_eq!(
        app.activity_count(&tenant, "session.revoked").await,
        1,
        "revoked once"
    );

    // A refresh token nobody issued.
    let res = app.refresh("made-up").await;
    res.problem(401, "unauthenticated").await;
}

async fn s3_3_an_expired_session_requires_reauthorization(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let past = if app.is_postgres() {
        "NOW() - INTERVAL '1 minute'"
    } else {
        "'2000-01-01T00:00:00+00:00'"
    };
    app.db
        .execute_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("UPDATE sessions SET expires_at = {past}"),
        ))
        .await
        .unwrap();
    app.settle().await;
    let res = app.as_(&ada).get_me().await;
    res.problem(401, "reauthorization_required").await;
    let res = app.refresh(&ada.refresh_token).await;
    res.problem(401, "reauthorization_required").await;
    assert_eq!(app.activity_count(&tenant, "session.refreshed").await, 0);
}

async fn s3_3_refresh_rechecks_the_psa(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;

    // Tess leaves the company; Tom moves to the Finance Manager level.
    tenant.edit_directory(|d| {
        for r in &mut d.resources {
            if r.id == TESS_TECH {
                r.is_active = false;
            }
            if r.id == TOM_TECH {
                r.security_level_id = levels::FINANCE_MANAGER;
            }
        }
    });
    let res = app.refresh(&tess.refresh_token).await;
    res.problem(401, "reauthorization_required").await;
    let res = app.as_(&tess).get_me().await;
    res.problem(401, "reauthorization_required").await;
    assert_eq!(app.activity_count(&tenant, "session.revoked").await, 1);

    let res = app.refresh(&tom.refresh_token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await;
    assert_eq!(
        body["user"]["security_level"],
        json!({"id": levels::FINANCE_MANAGER, "name": "Finance Manager"})
    );
}

async fn s2_a_deactivated_users_jwt_and_api_token_stop_working_on_the_next_request(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let token = app.create_token(&tess.access_token, "read_write").await;
    assert_eq!(app.as_(&tess).get_me().await.status(), 200);
    assert_eq!(app.with_token(&token).get_me().await.status(), 200);

    app.db
        .execute_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("UPDATE users SET active = FALSE WHERE psa_resource_id = {TESS_TECH}"),
        ))
        .await
        .unwrap();
    app.settle().await;

    let res = app.as_(&tess).get_me().await;
    res.problem(401, "reauthorization_required").await;
    let res = app.with_token(&token).get_me().await;
    res.problem(403, "user_inactive").await;
    // Nor can they come back through the PSA launcher.
    let res = app.launch(&tenant.assertion(TESS_TECH)).await;
    res.problem(403, "user_inactive").await;
    assert_eq!(app.activity_count(&tenant, "user.sign_in_refused").await, 1);
    // Reactivation restores the same user.
    app.db
        .execute_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("UPDATE users SET active = TRUE WHERE psa_resource_id = {TESS_TECH}"),
        ))
        .await
        .unwrap();
    app.settle().await;
    let again = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(again.user["id"], tess.user["id"]);
    // SPEC S12: the refused sign-in revoked her token for good; reactivation does not bring
    // it back.
    let res = app.with_token(&token).get_me().await;
    res.problem(401, "unauthenticated").await;
}

async fn s3_3_logout_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let other = app.sign_in(&tenant, ADA_ADMIN).await;

    let res = app.as_(&ada).end_session().await;
    assert_eq!(res.status(), 204);
    app.as_(&ada)
        .get_me()
        .await
        .problem(401, "reauthorization_required")
        .await;
    app.refresh(&ada.refresh_token)
        .await
        .problem(401, "reauthorization_required")
        .await;
    assert_eq!(app.activity_count(&tenant, "user.signed_out").await, 1);
    // Another session of the same user is untouched.
    assert_eq!(app.as_(&other).get_me().await.status(), 200);
}

async fn s3_4_api_token_lifecycle(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;

    let as_ada = app.as_(&ada);
    let created = as_ada
        .create_my_token(&token("nightly export", TokenScope::Read))
        .await
        .expect_json(201)
        .await;
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("hk_") && secret.len() == 46, "{secret}");
    assert_eq!(created["scope"], "read");
    assert_eq!(created["token_prefix"], secret[..10]);
    assert_eq!(app.activity_count(&tenant, "api_token.created").await, 1);

    // Stored as a hash only.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{secret}' OR token_prefix = '{secret}'"
        ))
        .await,
        0
    );

    let res = app.with_token(&secret).get_me().await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await;
    assert_eq!(body["user"]["id"], ada.user["id"]);

    let list = as_ada
        .list_my_tokens(&PageQuery::default())
        .await
        .expect_json(200)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let item = &list["items"][0];
    assert!(item.get("token").is_none(), "the secret is never listed");
    assert_eq!(item["name"], "nightly export");
    assert!(item["last_used_at"].is_string(), "use is recorded: {item}");
    assert!(list["next_cursor"].is_null());

    let id = created["id"].as_str().unwrap();
    as_ada.revoke_my_token(id).await.expect(204).await;
    app.with_token(&secret)
        .get_me()
        .await
        .problem(401, "unauthenticated")
        .await;
    assert_eq!(app.activity_count(&tenant, "api_token.revoked").await, 1);
    let list = as_ada
        .list_my_tokens(&PageQuery::default())
        .await
        .json()
        .await;
    assert_eq!(list["items"], json!([]));

    // Pagination over several tokens.
    for i in 0..3 {
        as_ada
            .create_my_token(&token(&format!("t{i}"), TokenScope::ReadWrite))
            .await;
    }
    let page = as_ada
        .list_my_tokens(&PageQuery {
            limit: Some(2),
            cursor: None,
        })
        .await
        .json()
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = as_ada
        .list_my_tokens(&PageQuery {
            limit: Some(2),
            cursor: Some(cursor.to_owned()),
        })
        .await
        .json()
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["name"], "t2");
    assert!(rest["next_cursor"].is_null());
    as_ada
        .list_my_tokens(&PageQuery {
            limit: Some(500),
            cursor: None,
        })
        .await
        .problem(422, "validation_failed")
        .await;
    // Not even a valid query string.
    as_ada
        .raw(Method::GET, "/api/v1/me/tokens?cursor=%%%", None)
        .await
        .problem(422, "validation_failed")
        .await;
}

async fn s3_4_a_read_token_cannot_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let read = app.create_token(&ada.access_token, "read").await;

    assert_eq!(app.with_token(&read).get_me().await.status(), 200);
    let as_read = app.with_token(&read);
    assert_eq!(
        as_read.list_my_tokens(&PageQuery::default()).await.status(),
        200
    );
    let before = app.row_counts().await;
    as_read
        .create_my_token(&token("x", TokenScope::Read))
        .await
        .problem(403, "insufficient_scope")
        .await;
    let id = app
        .scalar("SELECT COUNT(*) FROM api_tokens")
        .await
        .to_string();
    as_read
        .revoke_my_token(&id)
        .await
        .problem(403, "insufficient_scope")
        .await;
    as_read
        .end_session()
        .await
        .problem(403, "insufficient_scope")
        .await;
    assert_eq!(app.row_counts().await, before);
}

async fn s3_4_tokens_cannot_mint_tokens_and_invalid_input_creates_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let rw = app.create_token(&ada.access_token, "read_write").await;
    let before = app.row_counts().await;

    app.with_token(&rw)
        .create_my_token(&token("child", TokenScope::ReadWrite))
        .await
        .problem(403, "forbidden")
        .await;

    let as_ada = app.as_(&ada);
    let long_ago = "2001-01-01T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    for (body, field) in [
        (token("", TokenScope::Read), "name"),
        (token(&"x".repeat(101), TokenScope::Read), "name"),
        (
            CreateToken {
                expires_at: Some(long_ago),
                ..token("old", TokenScope::Read)
            },
            "expires_at",
        ),
    ] {
        let problem = as_ada
            .create_my_token(&body)
            .await
            .problem(422, "validation_failed")
            .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body:?}");
    }
    // Bodies outside the schema: an unknown scope, an unknown field, no scope.
    for body in [
        json!({"name": "x", "scope": "admin"}),
        json!({"name": "x", "scope": "read", "user_id": "someone"}),
        json!({"name": "x"}),
    ] {
        as_ada
            .raw(Method::POST, "/api/v1/me/tokens", Some(&body))
            .await
            .problem(422, "validation_failed")
            .await;
    }
    assert_eq!(app.row_counts().await, before, "nothing created");
}

async fn s3_4_expired_tokens_and_other_users_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let created = app
        .as_(&tess)
        .create_my_token(&CreateToken {
            expires_at: Some(soon),
            ..token("short", TokenScope::Read)
        })
        .await
        .expect_json(201)
        .await;
    let secret = created["token"].as_str().unwrap();
    assert_eq!(app.with_token(secret).get_me().await.status(), 200);

    // Ada cannot see or revoke Tess's token: for her it does not exist.
    let id = created["id"].as_str().unwrap();
    let as_ada = app.as_(&ada);
    as_ada
        .revoke_my_token(id)
        .await
        .problem(404, "not_found")
        .await;
    let list = as_ada
        .list_my_tokens(&PageQuery::default())
        .await
        .json()
        .await;
    assert_eq!(list["items"], json!([]));

    let past = if app.is_postgres() {
        "NOW() - INTERVAL '1 minute'"
    } else {
        "'2000-01-01T00:00:00+00:00'"
    };
    app.db
        .execute_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("UPDATE api_tokens SET expires_at = {past}"),
        ))
        .await
        .unwrap();
    app.settle().await;
    let res = app.with_token(secret).get_me().await;
    let body = res.problem(401, "unauthenticated").await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
}

async fn s8_me_returns_the_user_access_level_and_hub_actions(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;

    let body: Value = app.as_(&ada).get_me().await.json().await;
    assert_eq!(body["access_level"], "elevated");
    assert_eq!(body["user"]["id"], ada.user["id"]);
    assert_eq!(body["hub_actions"].as_array().unwrap().len(), 13);
    assert_eq!(body["pending_invitations"], 0);

    let body: Value = app.as_(&tess).get_me().await.json().await;
    assert_eq!(body["access_level"], "limited");
    let actions: Vec<&str> = body["hub_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "sign_in",
            "view_sync_status",
            "view_activity_log",
            "run_connection",
            "manage_own_tokens",
            "view_settings"
        ]
    );
}

async fn s3_2_concurrent_first_sign_ins_make_exactly_one_primary(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    // Two people, and one of them twice: races on the primary slot, on the user row of a
    // resource, and on the tenant's security-level cache.
    let a = tenant.assertion(ADA_ADMIN);
    let b = tenant.assertion(BOB_FINANCE);
    let a2 = tenant.assertion(ADA_ADMIN);
    let (ra, rb, ra2) = tokio::join!(app.launch(&a), app.launch(&b), app.launch(&a2));
    for res in [ra, rb, ra2] {
        let status = res.status();
        assert_eq!(status, 200, "{}", res.text().await);
    }
    assert_eq!(app.count("users").await, 2);
    assert_eq!(app.count("sessions").await, 3);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE is_primary = TRUE")
            .await,
        1
    );
}

async fn stored_rank(app: &TestApp, resource: i64) -> i64 {
    app.scalar(&format!(
        "SELECT CAST(access_rank AS BIGINT) FROM users WHERE psa_resource_id = {resource}"
    ))
    .await
}

async fn s2_stored_access_follows_the_psa_for_users_who_are_not_signing_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(stored_rank(&app, ADA_ADMIN).await, 2);
    assert_eq!(stored_rank(&app, TESS_TECH).await, 1);

    // The PSA deactivates the Technician level. Nobody on it signs in, but the next read of
    // the levels (Ada's sign-in) rewrites Tess's stored access, and her session stops.
    tenant.edit_directory(|d| {
        for l in &mut d.security_levels {
            if l.id == levels::TECHNICIAN {
                l.is_active = false;
            }
        }
    });
    app.sign_in(&tenant, ADA_ADMIN).await;
    assert_eq!(stored_rank(&app, TESS_TECH).await, 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE psa_resource_id = {TESS_TECH} \
             AND access_source = 'level_not_eligible'"
        ))
        .await,
        1
    );
    app.as_(&tess)
        .get_me()
        .await
        .problem(401, "reauthorization_required")
        .await;
}

async fn s8_launch_and_refresh_are_rate_limited_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.rate_limit.launch_per_window = 3;
        s.rate_limit.refresh_per_window = 2;
        s.rate_limit.window_secs = 3600;
    })
    .await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    app.sign_in(&tenant, ADA_ADMIN).await;
    // A refused attempt counts too: the limit is on attempts, not on successes (per client
    // and issuer, SPEC S14: this one names the tenant).
    let mut forged = tenant.assertion(ADA_ADMIN);
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    assert_eq!(app.launch(&forged).await.status(), 401);
    let before = app.row_counts().await;
    let res = app.launch(&tenant.assertion(ADA_ADMIN)).await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after));
    res.problem(429, "rate_limited").await;
    assert_eq!(
        app.row_counts().await,
        before,
        "a limited launch changes nothing"
    );

    let res = app.refresh(&ada.refresh_token).await;
    assert_eq!(res.status(), 200);
    let next = session_from(res.json().await);
    assert_eq!(app.refresh(&next.refresh_token).await.status(), 200);
    app.refresh("whatever")
        .await
        .problem(429, "rate_limited")
        .await;
    // Other endpoints are not limited.
    assert_eq!(app.as_(&ada).get_me().await.status(), 200);
}

/// S14: a launch cannot tell "no such tenant" from "wrong secret": an unknown `iss`, an
/// `iss` no tenant could have (a control character) and a known `iss` signed with another
/// secret get one 401 body, byte for byte but the request id.
async fn s14_unknown_issuer_and_bad_signature_answer_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, jti: &str| {
        json!({"iss": iss, "aud": "hubkeep", "sub": ADA_ADMIN.to_string(), "iat": now,
               "exp": now + 60, "jti": jti})
    };
    let other_secret = "not-the-launch-secret-not-the-launch-secret";
    let cases = [
        (
            "bad signature",
            sign_hs256(&claims(&tenant.psa_id, "bad-signature"), other_secret),
        ),
        (
            "unknown issuer",
            sign_hs256(&claims("no-such-psa-tenant", "unknown-iss"), other_secret),
        ),
        (
            "unknown issuer signed with the tenant's own secret",
            sign_hs256(
                &claims("no-such-psa-tenant", "unknown-iss-2"),
                &tenant.launch_secret,
            ),
        ),
        (
            "an issuer no tenant can have",
            sign_hs256(&claims("psa\u{1}id", "control"), other_secret),
        ),
    ];
    let mut bodies = Vec::new();
    for (why, assertion) in cases {
        let res = app.launch(&assertion).await;
        assert_eq!(res.status(), 401, "{why}");
        let text = res.text().await;
        let mut body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["code"], "unauthenticated", "{why}: {text}");
        // The request id differs by design; nothing else may.
        if let Some(id) = body.get("request_id").and_then(Value::as_str) {
            let id = id.to_owned();
            body.as_object_mut().unwrap().remove("request_id");
            assert_eq!(text.matches(&id).count(), 1, "{why}: {text}");
            bodies.push((why, text.replace(&id, "<request id>"), body));
        } else {
            bodies.push((why, text.clone(), body));
        }
    }
    let (first_why, first_text, _) = &bodies[0];
    for (why, text, _) in &bodies[1..] {
        assert_eq!(text, first_text, "{why} answers unlike {first_why}");
    }

    // Forgeries that fail before any signature is computed answer the same whether their
    // issuer is a tenant or not: the checks that need no secret come before the lookup.
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let forge = |header: Value, iss: &str, signature: &str| {
        format!(
            "{}.{}.{signature}",
            b64(&header),
            b64(&claims(iss, "forged"))
        )
    };
    let hs = |alg: &str| json!({"alg": alg, "typ": "JWT"});
    // (why, header, signature, appended after the signature)
    let forgeries = [
        ("HS384", hs("HS384"), "c2lnbmF0dXJl", ""),
        ("alg none", json!({"alg": "none"}), "", ""),
        ("signature not base64", hs("HS256"), "!!!*", ""),
        ("empty signature", hs("HS256"), "", ""),
        ("four parts", hs("HS256"), "c2ln", ".x"),
    ];
    for (why, header, signature, tail) in &forgeries {
        let mut answers = Vec::new();
        for iss in [tenant.psa_id.as_str(), "no-such-psa-tenant"] {
            let assertion = format!("{}{tail}", forge(header.clone(), iss, signature));
            let res = app.launch(&assertion).await;
            assert_eq!(res.status(), 401, "{why} as {iss}");
            let mut body = res.json().await;
            assert_eq!(body["code"], "unauthenticated", "{why} as {iss}: {body}");
            body.as_object_mut().unwrap().remove("request_id");
            answers.push(body);
        }
        assert_eq!(
            answers[0], answers[1],
            "{why}: a tenant's issuer answers differently"
        );
    }
    assert_eq!(app.count("users").await, 0);
    assert_eq!(app.count("launch_assertions").await, 0);
}

/// Issue 24: authentication, `/me` and a connection are served from the read cache once warm,
/// and every kind of change — through the API, or straight in the database — is seen by the
/// very next request: the Access tab (elevated levels), a member's role, a token's expiry, a
/// revoked session.
async fn s3_3_a_warm_read_cache_never_outlives_a_change(backend: Backend) {
    use crate::helpers::{create_connection, grant, id, past_timestamp, team};
    use hubkeep_shared::api::ElevatedLevels;
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let token = app.create_token(&tess.access_token, "read").await;
    let cid = create_connection(&app, &ada, "Cached", "autotask_quickbooks").await;
    grant(&app, &tenant, &cid, &id(&tess), "read_only").await;
    for _ in 0..3 {
        assert_eq!(app.as_(&bob).get_me().await.status(), 200);
        assert_eq!(app.with_token(&token).get_me().await.status(), 200);
        assert_eq!(
            app.with_token(&token).get_connection(&cid).await.status(),
            200
        );
    }
    // On PostgreSQL the cache opens once the instance holds its first lease.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !app.cache_status().await.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the cache never became usable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, hits, _) = app.cache_status().await;
    assert_eq!(app.as_(&bob).get_me().await.status(), 200);
    assert_eq!(app.with_token(&token).get_me().await.status(), 200);
    let (_, after, _) = app.cache_status().await;
    assert!(
        after >= hits + 2,
        "both were served from the cache: {hits} → {after}"
    );

    // The Access tab, through the API: Bob's next request is limited.
    app.as_(&ada)
        .save_elevated_levels(&ElevatedLevels { level_ids: vec![] })
        .await
        .expect(200)
        .await;
    let me: Value = app.as_(&bob).get_me().await.json().await;
    assert_eq!(me["access_level"], "limited", "{me}");

    // A member's role, through the API: the connection is gone for her next request.
    app.as_(&ada)
        .remove_member_role(&cid, &id(&tess), "read_only")
        .await
        .expect(204)
        .await;
    app.with_token(&token)
        .get_connection(&cid)
        .await
        .problem(404, "not_found")
        .await;

    // Straight in the database (another connection, as the CLI or an operator would be).
    app.write_sql(&format!(
        "UPDATE api_tokens SET expires_at = {}",
        past_timestamp(&app)
    ))
    .await;
    app.with_token(&token)
        .get_me()
        .await
        .problem(401, "unauthenticated")
        .await;
    app.write_sql(&format!(
        "UPDATE sessions SET revoked_at = {} WHERE user_id = '{}'",
        past_timestamp(&app),
        id(&bob)
    ))
    .await;
    app.as_(&bob)
        .get_me()
        .await
        .problem(401, "reauthorization_required")
        .await;
}
