//! Tables that would grow forever (SPEC S14): a background job deletes, in bounded batches,
//! what can never be used again — sessions over for a day and their refresh tokens, launch
//! `jti`s past their assertion's expiry, rate-limit counters of past windows, PSA call
//! counts of past hours, expired OpenID Connect sign-ins and one-time codes.
//!
//! The job takes the time as a parameter ([`prune`]), so a test runs it with its own clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

/// Rows deleted by one statement.
pub const BATCH: u64 = 500;
/// Statements per table and run: a run is bounded, and the next one goes on.
pub const MAX_BATCHES: u32 = 20;
/// How long an ended session (and its used refresh tokens, which tell a replay from a
/// stranger) stays before it is pruned.
pub const ENDED_SESSION_RETENTION: chrono::Duration = chrono::Duration::days(1);
/// Launch `jti`s are kept this long past their assertion's `exp` (more than the verifier's
/// leeway, so a replay is always caught while the assertion could still verify).
pub const JTI_RETENTION: chrono::Duration = chrono::Duration::minutes(5);
/// How long a received Autotask callout is remembered to refuse its replay (SPEC S12):
/// Autotask gives up on a callout after 2 minutes.
pub const PSA_CALLOUT_RETENTION: chrono::Duration = chrono::Duration::days(1);

/// What one run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub launch_jtis: u64,
    pub rate_limits: u64,
    pub psa_call_budget: u64,
    pub psa_webhook_callouts: u64,
    pub oidc_logins: u64,
    pub oidc_codes: u64,
}

/// One run at `now`. `rate_window_secs` is the rate limits' window: a counter of an earlier
/// window is never read again.
pub async fn prune(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    rate_window_secs: u32,
) -> Result<Pruned, sea_orm::DbErr> {
    let ended = now - ENDED_SESSION_RETENTION;
    let ended_sessions =
        "SELECT s.id FROM sessions s WHERE (s.expires_at < $1 OR s.revoked_at < $1)";
    let refresh_tokens = batches(
        db,
        &format!(
            "DELETE FROM refresh_tokens WHERE token_hash IN (SELECT r.token_hash FROM \
             refresh_tokens r WHERE r.session_id IN ({ended_sessions}) LIMIT {BATCH})"
        ),
        Value::from(ended),
    )
    .await?;
    let sessions = batches(
        db,
        &format!(
            "DELETE FROM sessions WHERE id IN ({ended_sessions} AND NOT EXISTS \
             (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id) LIMIT {BATCH})"
        ),
        Value::from(ended),
    )
    .await?;
    let launch_jtis = batches(
        db,
        &format!(
            "DELETE FROM launch_assertions WHERE (tenant_id, jti) IN (SELECT tenant_id, jti \
             FROM launch_assertions WHERE expires_at < $1 LIMIT {BATCH})"
        ),
        Value::from(now - JTI_RETENTION),
    )
    .await?;
    let rate_limits = batches(
        db,
        &format!(
            "DELETE FROM rate_limits WHERE bucket IN (SELECT bucket FROM rate_limits \
             WHERE window_start < $1 LIMIT {BATCH})"
        ),
        Value::from(now - chrono::Duration::seconds(i64::from(rate_window_secs.max(1)))),
    )
    .await?;
    // The PSA call budget counts per hour (unix seconds of its start): the hour before the
    // current one is the last ever read.
    let psa_call_budget = batches(
        db,
        &format!(
            "DELETE FROM psa_call_budget WHERE (tenant_id, hour_start) IN (SELECT tenant_id, \
             hour_start FROM psa_call_budget WHERE hour_start < $1 LIMIT {BATCH})"
        ),
        Value::from(now.timestamp() - 2 * 3600),
    )
    .await?;
    // Autotask gives up on a callout after 2 minutes: a day of them catches every replay.
    let psa_webhook_callouts = batches(
        db,
        &format!(
            "DELETE FROM psa_webhook_callouts WHERE (tenant_id, guid, sequence_number) IN \
             (SELECT tenant_id, guid, sequence_number FROM psa_webhook_callouts \
             WHERE received_at < $1 LIMIT {BATCH})"
        ),
        Value::from(now - PSA_CALLOUT_RETENTION),
    )
    .await?;
    let (oidc_logins, oidc_codes) = prune_oidc(db, now).await?;
    Ok(Pruned {
        sessions,
        refresh_tokens,
        launch_jtis,
        rate_limits,
        psa_call_budget,
        psa_webhook_callouts,
        oidc_logins,
        oidc_codes,
    })
}

/// OpenID Connect sign-ins never finished and one-time codes never redeemed (SPEC S13): both
/// are refused once expired, so nothing reads them again.
async fn prune_oidc(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<(u64, u64), sea_orm::DbErr> {
    let logins = batches(
        db,
        &format!(
            "DELETE FROM oidc_logins WHERE state_hash IN (SELECT state_hash FROM oidc_logins \
             WHERE expires_at < $1 LIMIT {BATCH})"
        ),
        Value::from(now),
    )
    .await?;
    let codes = batches(
        db,
        &format!(
            "DELETE FROM oidc_codes WHERE code_hash IN (SELECT code_hash FROM oidc_codes \
             WHERE expires_at < $1 LIMIT {BATCH})"
        ),
        Value::from(now),
    )
    .await?;
    Ok((logins, codes))
}

/// Runs `sql` (one `$1` parameter, `before`) until it deletes less than a batch, at most
/// [`MAX_BATCHES`] times; the rows deleted.
async fn batches(
    db: &impl ConnectionTrait,
    sql: &str,
    before: Value,
) -> Result<u64, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace("$1", "?1"),
    };
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES {
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                [before.clone()],
            ))
            .await?
            .rows_affected();
        deleted += done;
        if done < BATCH {
            break;
        }
    }
    Ok(deleted)
}

/// Starts the job: a run every `every`, the first one at once. A failed run is logged and
/// the next one tries again.
pub fn spawn(db: DatabaseConnection, every: Duration, rate_window_secs: u32) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match prune(&db, crate::db::now(), rate_window_secs).await {
                Ok(pruned) if pruned != Pruned::default() => {
                    tracing::info!(?pruned, "pruned expired rows");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "pruning expired rows failed"),
            }
        }
    });
}
