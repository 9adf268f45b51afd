//! SPEC S14 (issue 19, defects 2 and 9): sign-in limits that cannot lock others out — the
//! client address comes through `[http] trusted_proxies` only, IPv6 counts per /64, one
//! client's garbage never refuses another client, garbage for one tenant's `iss` never
//! refuses another tenant — and the job that prunes what can never be used again.

use chrono::{Duration, Utc};
use hubkeep_api::db::entities::{launch_assertions, sessions};
use hubkeep_api::identity::prune::{Pruned, prune};
use hubkeep_shared::api::LaunchRequest;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _};
use sea_orm::{Statement, Value};

use crate::client::Answer;
use crate::helpers::{Backend, TestApp, TestTenant, people::*, spawn_app, spawn_app_with};
use crate::on_each_backend;

on_each_backend!(
    s14_one_clients_garbage_never_refuses_another_client_or_tenant,
    s14_the_pruning_job_deletes_expired_rows_and_keeps_live_ones,
);

const LIMIT: u32 = 20;

/// A launch as the proxy forwards it for `client`.
async fn launch_from(
    app: &TestApp,
    client: &str,
    assertion: &str,
) -> Answer<hubkeep_shared::api::TokenResponse> {
    app.anonymous()
        .with_header("x-forwarded-for", client)
        .launch_session(&LaunchRequest {
            assertion: assertion.to_owned(),
        })
        .await
}

/// The tenant's assertion with its signature spoiled: its `iss` is the tenant's, it never
/// verifies.
fn garbage(tenant: &TestTenant) -> String {
    let mut assertion = tenant.assertion(ADA_ADMIN);
    assertion.truncate(assertion.len() - 4);
    assertion.push_str("AAAA");
    assertion
}

async fn s14_one_clients_garbage_never_refuses_another_client_or_tenant(backend: Backend) {
    let limited = |s: &mut hubkeep_api::config::Settings| {
        s.rate_limit.launch_per_window = LIMIT;
        s.rate_limit.window_secs = 3600;
    };
    let app = spawn_app_with(backend.clone(), |s| {
        limited(s);
        s.http.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let (a, b) = (app.tenant().await, app.tenant().await);

    let mut refused = 0;
    for _ in 0..100 {
        let status = launch_from(&app, "203.0.113.7", &garbage(&a))
            .await
            .status();
        assert!(status == 401 || status == 429, "{status}");
        refused += usize::from(status == 429);
    }
    assert_eq!(refused, 100 - LIMIT as usize, "that client is limited");
    // Even its good launch for that tenant waits…
    launch_from(&app, "203.0.113.7", &a.assertion(ADA_ADMIN))
        .await
        .problem(429, "rate_limited")
        .await;
    // …while another client of the same tenant signs in,
    let res = launch_from(&app, "198.51.100.9", &a.assertion(ADA_ADMIN)).await;
    assert_eq!(res.status(), 200);
    let user = res.expect_json(200).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = '{user}' AND ip = '198.51.100.9'"
        ))
        .await,
        1,
        "the session records the client, not the proxy"
    );
    // …and the same client signs in to another tenant.
    assert_eq!(
        launch_from(&app, "203.0.113.7", &b.assertion(ADA_ADMIN))
            .await
            .status(),
        200
    );

    // IPv6 clients count per /64: another address of the same network is the same client.
    for _ in 0..LIMIT {
        launch_from(&app, "2001:db8:1:2::1", &garbage(&b)).await;
    }
    launch_from(&app, "2001:db8:1:2:ffff::9", &b.assertion(ADA_ADMIN))
        .await
        .problem(429, "rate_limited")
        .await;
    assert_eq!(
        launch_from(&app, "2001:db8:1:3::1", &b.assertion(ADA_ADMIN))
            .await
            .status(),
        200
    );
    // A client cannot name another one in front of the trusted proxy: the rightmost
    // untrusted hop counts, not a spoofed leftmost one.
    launch_from(&app, "198.51.100.9, 203.0.113.7", &a.assertion(ADA_ADMIN))
        .await
        .problem(429, "rate_limited")
        .await;

    // Without trusted proxies the header is anyone's say-so and is ignored: every request
    // here is 127.0.0.1.
    let plain = spawn_app_with(backend, limited).await;
    let c = plain.tenant().await;
    for _ in 0..LIMIT {
        launch_from(&plain, "203.0.113.7", &garbage(&c)).await;
    }
    launch_from(&plain, "198.51.100.9", &c.assertion(ADA_ADMIN))
        .await
        .problem(429, "rate_limited")
        .await;
}

/// Runs `sql` with `values` ($1, $2 … on PostgreSQL; ? on SQLite).
async fn exec(app: &TestApp, sql: &str, values: Vec<Value>) {
    let sql = if app.is_postgres() {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap();
}

async fn s14_the_pruning_job_deletes_expired_rows_and_keeps_live_ones(backend: Backend) {
    // Test apps leave the job off (helpers::spawn_app_with): this half runs it by hand.
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let now = Utc::now();
    // Three sign-ins: one session ended by expiry two days ago, one revoked two days ago,
    // one live; each has its refresh token and its launch jti.
    let mut ids = Vec::new();
    for _ in 0..3 {
        app.sign_in(&tenant, ADA_ADMIN).await;
    }
    for s in sessions::Entity::find().all(&app.db).await.unwrap() {
        ids.push(s.id);
    }
    assert_eq!(ids.len(), 3);
    sessions::Entity::update_many()
        .col_expr(
            sessions::Column::ExpiresAt,
            Expr::value(now - Duration::days(2)),
        )
        .filter(sessions::Column::Id.eq(&ids[0]))
        .exec(&app.db)
        .await
        .unwrap();
    sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedAt,
            Expr::value(now - Duration::days(2)),
        )
        .filter(sessions::Column::Id.eq(&ids[1]))
        .exec(&app.db)
        .await
        .unwrap();
    // Two jtis past their assertion's expiry, one live.
    let jtis = launch_assertions::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(jtis.len(), 3);
    for j in &jtis[..2] {
        launch_assertions::Entity::update_many()
            .col_expr(
                launch_assertions::Column::ExpiresAt,
                Expr::value(now - Duration::hours(1)),
            )
            .filter(launch_assertions::Column::Jti.eq(&j.jti))
            .exec(&app.db)
            .await
            .unwrap();
    }
    // Rate-limit counters of an old window and of the current one; PSA call counts of an
    // old hour and of this one.
    for (bucket, at) in [
        ("launch:old", now - Duration::hours(3)),
        ("launch:now", now),
    ] {
        exec(
            &app,
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1)",
            vec![bucket.into(), at.into()],
        )
        .await;
    }
    let hour = now.timestamp() - now.timestamp().rem_euclid(3600);
    for start in [hour - 5 * 3600, hour] {
        exec(
            &app,
            "INSERT INTO psa_call_budget (tenant_id, hour_start, calls) VALUES (?, ?, 7)",
            vec![tenant.id.clone().into(), start.into()],
        )
        .await;
    }

    // Autotask callouts received two days ago and now (SPEC S12's replay memory).
    for (seq, at) in [(1_i64, now - Duration::days(2)), (2, now)] {
        exec(
            &app,
            "INSERT INTO psa_webhook_callouts (tenant_id, guid, sequence_number, resource_id, \
             received_at) VALUES (?, 'g', ?, 1, ?)",
            vec![tenant.id.clone().into(), seq.into(), at.into()],
        )
        .await;
    }

    let pruned = prune(&app.db, now, 60).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            sessions: 2,
            refresh_tokens: 2,
            launch_jtis: 2,
            rate_limits: 1,
            psa_call_budget: 1,
            psa_webhook_callouts: 1,
            oidc_logins: 0,
            oidc_codes: 0,
        }
    );
    assert_eq!(
        app.scalar("SELECT sequence_number FROM psa_webhook_callouts")
            .await,
        2,
        "the recent callout is remembered"
    );
    let left: Vec<String> = sessions::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [ids[2].clone()], "the live session stays");
    assert_eq!(app.count("refresh_tokens").await, 1);
    assert_eq!(app.count("launch_assertions").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM rate_limits WHERE bucket = 'launch:old'")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM rate_limits WHERE bucket = 'launch:now'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM psa_call_budget").await, 1);
    // The live session still refreshes; a second run finds nothing.
    assert_eq!(prune(&app.db, now, 60).await.unwrap(), Pruned::default());

    // The clock decides: two days on, the live session (12 hours long) is over too.
    let later = prune(&app.db, now + Duration::days(2), 60).await.unwrap();
    assert_eq!((later.sessions, later.refresh_tokens), (1, 1));
    assert_eq!(app.count("sessions").await, 0);

    // The job itself runs in the server, every `[database] prune_every_secs`.
    let app = spawn_app_with(backend_of(&app), |s| s.database.prune_every_secs = 1).await;
    exec(
        &app,
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1)",
        vec![
            "launch:stale".into(),
            (Utc::now() - Duration::hours(3)).into(),
        ],
    )
    .await;
    let mut waited = 0;
    while app
        .scalar("SELECT COUNT(*) FROM rate_limits WHERE bucket = 'launch:stale'")
        .await
        > 0
    {
        assert!(waited < 100, "the job never pruned the stale counter");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
}

fn backend_of(app: &TestApp) -> Backend {
    if app.is_postgres() {
        Backend::postgres_required()
    } else {
        Backend::Sqlite
    }
}
