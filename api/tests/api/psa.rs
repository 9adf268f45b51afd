//! Sign-in through the Autotask provider against the simulator, and what happens when the
//! PSA misbehaves (SPEC S3.1, S3.2, S3.3): 503 `psa_unavailable`, nothing changed.

use hubkeep_psa_sim::Faults;

use crate::helpers::{Backend, people::*, session_from, spawn_app_for_simulator, start_simulator};
use crate::on_each_backend;

on_each_backend!(
    s3_1_sign_in_through_autotask_discovery_and_paging,
    s3_2_psa_failures_answer_psa_unavailable_and_change_nothing,
    s3_3_refresh_during_a_psa_outage_keeps_the_refresh_token_valid,
);

async fn s3_1_sign_in_through_autotask_discovery_and_paging(backend: Backend) {
    let sim = start_simulator();
    let app = spawn_app_for_simulator(backend, &sim, |_| {}).await;
    // No zone URL: the provider discovers it; the simulator pages every 3 items.
    let tenant = app.autotask_tenant(None).await;

    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    assert_eq!(ada.user["is_primary"], true);
    assert_eq!(ada.user["access_level"], "elevated");
    assert_eq!(ada.user["security_level"]["name"], "Administrator");
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(tess.user["access_level"], "limited");
    let res = app.launch(&tenant.assertion(OLGA_OLD_LEVEL)).await;
    res.problem(403, "access_not_eligible").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM security_levels WHERE tenant_id = '{}'",
            tenant.id
        ))
        .await,
        5,
        "every level read across pages"
    );
    sim.stop().await;
}

async fn s3_2_psa_failures_answer_psa_unavailable_and_change_nothing(backend: Backend) {
    let sim = start_simulator();
    let zone = sim.zone_url();
    let app = spawn_app_for_simulator(backend, &sim, |s| s.psa.timeout_ms = 300).await;
    let tenant = app.autotask_tenant(Some(zone)).await;
    app.sign_in(&tenant, ADA_ADMIN).await;

    // What passes is 503 `psa_unavailable`; refused credentials are for an administrator to
    // fix (S11): 502 `psa_misconfigured`, and not retried.
    sim.set_faults(Faults {
        bad_credentials: true,
        ..Faults::default()
    });
    sim.reset_stats();
    let before = app.row_counts().await;
    let res = app.launch(&tenant.assertion(TESS_TECH)).await;
    let body = res.problem(502, "psa_misconfigured").await;
    assert_eq!(body["reason"], "bad_credentials");
    assert_eq!(sim.request_count(), 1, "a 401 is not retried");
    assert_eq!(
        app.row_counts().await,
        before,
        "bad credentials: nothing changed"
    );

    let cases = [
        (
            "500s",
            Faults {
                fail_500: 100,
                ..Faults::default()
            },
        ),
        (
            "429 beyond the retry budget",
            Faults {
                rate_limit: 100,
                retry_after_secs: Some(1),
                ..Faults::default()
            },
        ),
        (
            "thread limit beyond the retry budget",
            Faults {
                thread_limit: 100,
                ..Faults::default()
            },
        ),
        (
            "malformed JSON",
            Faults {
                malformed_json: 100,
                ..Faults::default()
            },
        ),
        (
            "slower than the timeout",
            Faults {
                latency_ms: 1_000,
                ..Faults::default()
            },
        ),
    ];
    for (why, faults) in cases {
        sim.set_faults(faults);
        let before = app.row_counts().await;
        let res = app.launch(&tenant.assertion(TESS_TECH)).await;
        assert_eq!(res.status(), 503, "{why}");
        let body = res.problem(503, "psa_unavailable").await;
        let detail = body["detail"].as_str().unwrap();
        assert!(
            !detail.contains("sim-secret") && !detail.contains("HUBKEEP-TEST"),
            "no secret in {detail}"
        );
        assert_eq!(app.row_counts().await, before, "{why}: nothing changed");
    }

    // A brief 429 within the retry budget is absorbed.
    sim.set_faults(Faults {
        rate_limit: 1,
        ..Faults::default()
    });
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    assert_eq!(tess.user["access_level"], "limited");
    sim.stop().await;
}

async fn s3_3_refresh_during_a_psa_outage_keeps_the_refresh_token_valid(backend: Backend) {
    let sim = start_simulator();
    let zone = sim.zone_url();
    let app = spawn_app_for_simulator(backend, &sim, |s| s.psa.timeout_ms = 300).await;
    let tenant = app.autotask_tenant(Some(zone)).await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;

    sim.set_faults(Faults {
        fail_500: 100,
        ..Faults::default()
    });
    let before = app.row_counts().await;
    let res = app.refresh(&ada.refresh_token).await;
    res.problem(503, "psa_unavailable").await;
    assert_eq!(app.row_counts().await, before);

    sim.set_faults(Faults::default());
    let res = app.refresh(&ada.refresh_token).await;
    assert_eq!(
        res.status(),
        200,
        "the same refresh token works after the outage"
    );
    let next = session_from(res.json().await);
    assert_ne!(next.refresh_token, ada.refresh_token);
    sim.stop().await;
}
