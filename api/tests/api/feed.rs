//! SPEC S12, the PSA change feed: the reconciliation job (periodic and on demand), its lease,
//! its batched reads, and `GET /api/v1/psa/status`. Expected outcomes are written from the
//! SPEC; PSA calls are counted at the simulator.

use std::time::{Duration, Instant};

use hubkeep_psa_sim::Faults;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{
    Backend, TestApp, exec, id, people::*, spawn_app, spawn_app_for_simulator, spawn_app_with, team,
};
use crate::on_each_backend;

on_each_backend!(
    s12_reconcile_now_applies_what_the_psa_changed_and_revokes_lost_access,
    s12_the_periodic_job_refuses_an_offboarded_token_without_anyone_asking,
    s12_reconciliation_reads_resources_500_ids_a_call,
    s12_a_run_in_progress_holds_the_lease_and_an_expired_lease_is_taken_over,
    s12_a_failed_run_shows_in_the_status_with_its_reason,
    s12_the_feed_endpoints_are_for_elevated_users,
    s12_a_client_that_goes_away_mid_run_does_not_strand_the_lease,
    s12_subscribing_needs_a_public_url,
    s12_subscribing_needs_an_autotask_that_offers_resource_webhooks,
    s12_a_subscription_calls_the_hub_back_signed_and_is_removed_at_autotask_too,
);

async fn call(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn reconcile(app: &TestApp, token: &str) -> reqwest::Response {
    call(app, token, Method::POST, "/api/v1/psa/reconcile").await
}

async fn status(app: &TestApp, token: &str) -> Value {
    let res = call(app, token, Method::GET, "/api/v1/psa/status").await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn s12_reconcile_now_applies_what_the_psa_changed_and_revokes_lost_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let (tenant, ada, bob, tess) = team(&app).await;
    let token = app.create_token(&tess.access_token, "read").await;
    let before = status(&app, &ada.access_token).await;
    assert_eq!(before["provider"], "directory");
    assert_eq!(before["healthy"], true);
    assert_eq!(before["reconcile"]["last_run_at"], Value::Null);
    // Test apps run without the periodic job: no next run.
    assert_eq!(before["reconcile"]["next_run_at"], Value::Null);
    assert_eq!(before["webhook"]["state"], "unsupported");

    tenant.edit_directory(|d| {
        let tess = d.resources.iter_mut().find(|r| r.id == TESS_TECH).unwrap();
        tess.is_active = false;
        let bob = d
            .resources
            .iter_mut()
            .find(|r| r.id == BOB_FINANCE)
            .unwrap();
        bob.email = "robert.finance@example.test".into();
    });
    let res = reconcile(&app, &ada.access_token).await;
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary["users_checked"], 3, "{summary}");
    assert_eq!(summary["changes_applied"], 2, "{summary}");
    assert_eq!(summary["access_withdrawn"], 1, "{summary}");
    assert_eq!(summary["sessions_revoked"], 1, "{summary}");
    assert_eq!(summary["api_tokens_revoked"], 1, "{summary}");

    // Tess's token is refused, Bob's new email is stored, both logged as `user.psa_changed`.
    app.with_token(&token)
        .get_me()
        .await
        .problem(401, "unauthenticated")
        .await;
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT email FROM users WHERE id = '{}'",
            id(&bob)
        ))
        .await,
        "robert.finance@example.test"
    );
    assert_eq!(app.activity_count(&tenant, "user.psa_changed").await, 2);
    let bobs: Value = serde_json::from_str(
        &app.scalar_text(&format!(
            "SELECT details FROM activity_log WHERE action = 'user.psa_changed' \
             AND target_id = '{}'",
            id(&bob)
        ))
        .await,
    )
    .unwrap();
    assert_eq!(bobs["cause"], "reconcile");
    assert_eq!(
        bobs["changes"]["email"]["after"],
        "robert.finance@example.test"
    );
    assert_eq!(bobs["access_level"]["after"], "elevated");

    let after = status(&app, &ada.access_token).await;
    assert!(after["reconcile"]["last_run_at"].is_string(), "{after}");
    assert_eq!(after["reconcile"]["users_checked"], 3);
    assert_eq!(after["reconcile"]["changes_applied"], 2);
    assert_eq!(after["healthy"], true);

    // Nothing more to do: a second run changes nothing and logs nothing.
    let again: Value = reconcile(&app, &ada.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["changes_applied"], 0, "{again}");
    assert_eq!(app.activity_count(&tenant, "user.psa_changed").await, 2);
}

async fn s12_the_periodic_job_refuses_an_offboarded_token_without_anyone_asking(backend: Backend) {
    // A period of 0.6 s.
    let app = spawn_app_with(backend, |s| s.psa.reconcile_minutes = 0.01).await;
    let (tenant, ada, _, tess) = team(&app).await;
    let token = app.create_token(&tess.access_token, "read").await;
    app.with_token(&token).get_me().await.expect(200).await;
    tenant.edit_directory(|d| {
        let tess = d.resources.iter_mut().find(|r| r.id == TESS_TECH).unwrap();
        tess.is_active = false;
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.with_token(&token).get_me().await.status();
        if status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the token still answers {status} 20 s after the PSA deactivated her"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.activity_count(&tenant, "user.psa_changed").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE user_id = '{}' AND revoked_at IS NULL",
            id(&tess)
        ))
        .await,
        0,
        "her token is revoked, not merely refused"
    );
    let status = status(&app, &ada.access_token).await;
    assert!(status["reconcile"]["next_run_at"].is_string(), "{status}");
}

async fn s12_reconciliation_reads_resources_500_ids_a_call(backend: Backend) {
    const SEEDED: usize = 1_001;
    let sim = crate::helpers::start_simulator_with(|c| {
        c.directory = crate::helpers::fixture_with_seeded(SEEDED);
        c.page_size = hubkeep_psa_sim::MAX_PAGE_SIZE;
    });
    let app = spawn_app_for_simulator(backend, &sim, |_| {}).await;
    let tenant = app.autotask_tenant(Some(sim.zone_url())).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    app.seed_users(&tenant.id, SEEDED).await;
    sim.reset_stats();

    let res = reconcile(&app, &ada.access_token).await;
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary["users_checked"], SEEDED + 1, "{summary}");
    let stats = sim.stats();
    let count = |route: &str| stats.by_route.get(route).copied().unwrap_or(0);
    // 1,002 ids in three `in` queries of at most 500, no page beyond the first.
    assert_eq!(count("POST Resources/query"), 3, "{:?}", stats.by_route);
    assert_eq!(count("GET Resources/query/next"), 0, "{:?}", stats.by_route);
    // One read of the levels; nothing one resource at a time.
    assert_eq!(
        count("POST SecurityLevels/query"),
        1,
        "{:?}",
        stats.by_route
    );
    assert!(
        !stats
            .by_route
            .keys()
            .any(|k| k.starts_with("GET Resources/") && k != "GET Resources/query/next"),
        "{:?}",
        stats.by_route
    );
}

async fn s12_a_run_in_progress_holds_the_lease_and_an_expired_lease_is_taken_over(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (tenant, ada, _, _) = team(&app).await;
    // The first run makes the tenant's row.
    assert_eq!(reconcile(&app, &ada.access_token).await.status(), 200);
    let (future, past) = if app.is_postgres() {
        (
            "NOW() + INTERVAL '1 hour'".to_owned(),
            "NOW() - INTERVAL '1 second'".to_owned(),
        )
    } else {
        let at = |d: chrono::Duration| format!("'{}'", (chrono::Utc::now() + d).to_rfc3339());
        (
            at(chrono::Duration::hours(1)),
            at(chrono::Duration::seconds(-1)),
        )
    };
    exec(
        &app,
        &format!(
            "UPDATE psa_feed SET lease_holder = 'another-instance', lease_expires_at = {future} \
             WHERE tenant_id = '{}'",
            tenant.id
        ),
    )
    .await;
    let before = app.row_counts().await;
    let res = reconcile(&app, &ada.access_token).await;
    crate::helpers::assert_problem(res, 409, "reconcile_in_progress").await;
    assert_eq!(app.row_counts().await, before, "nothing changes");
    assert_eq!(
        app.scalar_text(&format!(
            "SELECT lease_holder FROM psa_feed WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await,
        "another-instance"
    );

    // The other instance died: once its lease has expired, the job is taken over.
    exec(
        &app,
        &format!(
            "UPDATE psa_feed SET lease_expires_at = {past} WHERE tenant_id = '{}'",
            tenant.id
        ),
    )
    .await;
    assert_eq!(reconcile(&app, &ada.access_token).await.status(), 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM psa_feed WHERE tenant_id = '{}' AND lease_holder IS NULL",
            tenant.id
        ))
        .await,
        1,
        "the lease is freed after the run"
    );
}

async fn s12_a_failed_run_shows_in_the_status_with_its_reason(backend: Backend) {
    let sim = crate::helpers::start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |_| {}).await;
    let tenant = app.autotask_tenant(Some(sim.zone_url())).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let token = app.create_token(&tess.access_token, "read").await;
    sim.set_faults(Faults {
        bad_credentials: true,
        ..Faults::default()
    });
    let res = reconcile(&app, &ada.access_token).await;
    let problem = crate::helpers::assert_problem(res, 502, "psa_misconfigured").await;
    assert_eq!(problem["reason"], "bad_credentials");
    let status = status(&app, &ada.access_token).await;
    assert_eq!(status["provider"], "autotask");
    assert_eq!(status["healthy"], false, "{status}");
    assert_eq!(status["last_error"]["code"], "psa_misconfigured");
    assert_eq!(status["last_error"]["reason"], "bad_credentials");
    assert!(status["last_error"]["at"].is_string());
    assert!(status["budget"]["used_this_hour"].as_u64().unwrap() >= 1);
    assert_eq!(status["budget"]["hourly_budget"], 2000);
    // A PSA that cannot answer changes nobody.
    app.with_token(&token).get_me().await.expect(200).await;

    sim.set_faults(Faults::default());
    assert_eq!(reconcile(&app, &ada.access_token).await.status(), 200);
    let status = self::status(&app, &ada.access_token).await;
    assert_eq!(status["healthy"], true, "{status}");
    assert_eq!(status["last_error"], Value::Null);
}

async fn s12_the_feed_endpoints_are_for_elevated_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, _ada, _bob, tess) = team(&app).await;
    let before = app.row_counts().await;
    for (method, path) in [
        (Method::GET, "/api/v1/psa/status"),
        (Method::POST, "/api/v1/psa/reconcile"),
        (Method::POST, "/api/v1/psa/webhook"),
        (Method::DELETE, "/api/v1/psa/webhook"),
    ] {
        let res = call(&app, &tess.access_token, method, path).await;
        crate::helpers::assert_problem(res, 403, "elevated_access_required").await;
    }
    assert_eq!(app.row_counts().await, before);
}

async fn s12_a_client_that_goes_away_mid_run_does_not_strand_the_lease(backend: Backend) {
    let sim = crate::helpers::start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |_| {}).await;
    let tenant = app.autotask_tenant(Some(sim.zone_url())).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    // Each PSA call takes a second; the client gives up after a fifth of one.
    sim.set_faults(Faults {
        latency_ms: 1_000,
        ..Faults::default()
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let gone = impatient
        .post(app.url("/api/v1/psa/reconcile"))
        .bearer_auth(&ada.access_token)
        .send()
        .await;
    assert!(gone.is_err(), "the client timed out");
    // The run goes on without it, records itself and frees the lease.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let free = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM psa_feed WHERE tenant_id = '{}' \
                 AND lease_holder IS NULL AND last_run_at IS NOT NULL",
                tenant.id
            ))
            .await;
        if free == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the lease is still held");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sim.set_faults(Faults::default());
    assert_eq!(reconcile(&app, &ada.access_token).await.status(), 200);
}

const PUBLIC_URL: &str = "https://hub.example.test";

async fn s12_subscribing_needs_a_public_url(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_tenant, ada, _bob, _tess) = team(&app).await;
    let before = app.row_counts().await;
    let res = call(&app, &ada.access_token, Method::POST, "/api/v1/psa/webhook").await;
    crate::helpers::assert_problem(res, 409, "public_url_missing").await;
    assert_eq!(app.row_counts().await, before);
}

async fn s12_subscribing_needs_an_autotask_that_offers_resource_webhooks(backend: Backend) {
    // A directory file offers no callouts.
    let app = spawn_app_with(backend.clone(), |s| {
        s.http.public_url = Some(PUBLIC_URL.into());
    })
    .await;
    let (_tenant, ada, _bob, _tess) = team(&app).await;
    let res = call(&app, &ada.access_token, Method::POST, "/api/v1/psa/webhook").await;
    crate::helpers::assert_problem(res, 409, "webhooks_unsupported").await;

    // Autotask as documented: Resources report `supportsWebhookCallouts: false`.
    let sim = crate::helpers::start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |s| {
        s.http.public_url = Some(PUBLIC_URL.into());
    })
    .await;
    let tenant = app.autotask_tenant(Some(sim.zone_url())).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    sim.reset_stats();
    let before = app.row_counts().await;
    let res = call(&app, &ada.access_token, Method::POST, "/api/v1/psa/webhook").await;
    crate::helpers::assert_problem(res, 409, "webhooks_unsupported").await;
    let stats = sim.stats();
    assert_eq!(
        stats.by_route.get("GET Resources/entityInformation"),
        Some(&1)
    );
    assert_eq!(
        stats.by_route.get("POST ResourceWebhooks"),
        None,
        "{stats:?}"
    );
    assert_eq!(app.row_counts().await, before);
    assert_eq!(
        status(&app, &ada.access_token).await["webhook"]["state"],
        "not_subscribed"
    );
}

async fn s12_a_subscription_calls_the_hub_back_signed_and_is_removed_at_autotask_too(
    backend: Backend,
) {
    let sim = crate::helpers::start_simulator_with(|c| c.resource_webhooks = true);
    let app = spawn_app_for_simulator(backend, &sim, |s| {
        s.http.public_url = Some(format!("{PUBLIC_URL}/"));
    })
    .await;
    let tenant = app.autotask_tenant(Some(sim.zone_url())).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let res = call(
        &app,
        &tess.access_token,
        Method::POST,
        "/api/v1/psa/webhook",
    )
    .await;
    crate::helpers::assert_problem(res, 403, "elevated_access_required").await;

    let res = call(&app, &ada.access_token, Method::POST, "/api/v1/psa/webhook").await;
    assert_eq!(res.status(), 200);
    let hook: Value = res.json().await.unwrap();
    let callback = format!("{PUBLIC_URL}/api/v1/psa/autotask/webhooks/{}", tenant.id);
    assert_eq!(hook["state"], "active", "{hook}");
    assert_eq!(hook["callback_url"], callback.as_str());
    let stats = sim.stats();
    assert_eq!(
        stats.by_route.get("POST ResourceWebhooks"),
        Some(&1),
        "{stats:?}"
    );
    // One subscribed field per fact that decides access (active flag, security level).
    assert_eq!(
        stats.by_route.get("POST ResourceWebhooks/{id}/Fields"),
        Some(&2),
        "{stats:?}"
    );
    // The key is stored sealed, never in clear.
    let stored = app.scalar_text("SELECT secret_key FROM psa_webhooks").await;
    assert!(stored.starts_with("sealed:"), "{stored}");
    let path = "/api/v1/activity?action=psa.webhook_subscribed";
    let log: Value = call(&app, &ada.access_token, Method::GET, path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        log["items"][0]["details"]["callback_url"],
        callback.as_str(),
        "{log}"
    );

    // A change in Autotask is called out, signed with that key.
    let mut directory = sim.directory();
    let resource = directory.resources.iter_mut().find(|r| r.id == TESS_TECH);
    resource.unwrap().is_active = false;
    sim.set_directory(directory).unwrap();
    let sent = sim.callouts();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].url, callback);
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(body["Id"], TESS_TECH);
    assert_eq!(body["EntityType"], "Resource");

    // The receiver: a bad signature is 401, an unknown tenant 404; nothing changes.
    let before = app.row_counts().await;
    let path = format!("/api/v1/psa/autotask/webhooks/{}", tenant.id);
    for (path, signature, status, code) in [
        (
            path.as_str(),
            "sha1=bm90IGl0",
            401,
            "webhook_signature_invalid",
        ),
        (path.as_str(), "", 401, "webhook_signature_invalid"),
        (
            "/api/v1/psa/autotask/webhooks/00000000-0000-4000-8000-000000000000",
            sent[0].signature.as_str(),
            404,
            "not_found",
        ),
    ] {
        let res = app
            .client
            .post(app.url(path))
            .header("X-Hook-Signature", signature)
            .header("Content-Type", "application/json")
            .body(sent[0].body.clone())
            .send()
            .await
            .unwrap();
        crate::helpers::assert_problem(res, status, code).await;
    }
    assert_eq!(app.row_counts().await, before);
    assert_eq!(app.count("psa_webhook_callouts").await, 0);

    // Removed at Autotask, then here; again, nothing is left: still 204, and Autotask is
    // not called a second time.
    for _ in 0..2 {
        let res = call(
            &app,
            &ada.access_token,
            Method::DELETE,
            "/api/v1/psa/webhook",
        )
        .await;
        assert_eq!(res.status(), 204);
        assert_eq!(
            sim.stats().by_route.get("DELETE ResourceWebhooks/{id}"),
            Some(&1)
        );
        assert_eq!(app.count("psa_webhooks").await, 0);
        assert_eq!(
            status(&app, &ada.access_token).await["webhook"]["state"],
            "not_subscribed"
        );
    }
}
