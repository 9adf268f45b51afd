//! Several instances on one PostgreSQL database: how each keeps its read cache honest, and how
//! a write waits until every live instance has dropped what the write made stale (issue 24;
//! the protocol and its failure cases are argued in docs/decisions.md).
//!
//! - Triggers on every table a cached read looks at `NOTIFY hubkeep_cache, 'c'` (one per
//!   transaction; delivered on commit, in commit order). An instance that hears one starts a
//!   new generation of its cache ([`Gate::invalidate`]).
//! - After a request that may have written, the writer *pings*: one short transaction bumps
//!   `hubkeep_cache_epoch.seq` (its row lock orders pings by commit) and notifies `p<seq>`.
//!   Every instance acknowledges the highest ping it has heard in `hubkeep_instances.acked_seq`.
//!   Hearing a ping means every notification committed before it was heard and applied.
//!   The writer answers once every instance whose lease is live (`lease_until > now()`, on
//!   PostgreSQL's clock) has acknowledged its ping ([`barrier`]).
//! - Leases: each instance renews `lease_until = now() + 3 s` (through its pool) and, in the
//!   same statement, notifies itself a heartbeat `h<instance>:<n>:<seq>`. Only when that heartbeat comes back through
//!   its listener connection does the instance extend its local lease, to the moment it *sent*
//!   the renewal plus 90 % of the lease (monotonic clock); and only then does it send the next
//!   renewal. So a listener that stops delivering (cut, partitioned, the process stopped)
//!   stops the renewals: the instance stops serving from its cache before its lease runs out
//!   in the database, and writers stop waiting for it once it has.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::{Notify, watch};

use super::{Gate, LEASE, RENEW_EVERY};

/// The channel of changes, pings and heartbeats.
pub const CHANNEL: &str = "hubkeep_cache";

// The protocol's own statements (renewals, acknowledgements, pings) commit without waiting
// for the WAL to reach the disk (`synchronous_commit = off` for their transaction): what
// they write matters only while PostgreSQL runs, a commit is visible (and its `NOTIFY`
// delivered) at once either way. In the bench, on a loaded two-core machine, renewals took
// up to 2 s (sqlx's slow-statement log), which lapsed leases.
/// The local lease is this share of [`LEASE`] (per mille), so that clock rates may differ.
const LOCAL_SHARE_PER_MILLE: u32 = 900;

/// What the listener heard that the other tasks wait for.
#[derive(Debug, Default, Clone, Copy)]
struct Heard {
    /// The highest ping.
    ping: i64,
    /// This instance's highest heartbeat.
    heartbeat: u64,
    /// Times the listener connection was lost and opened again.
    reconnects: u64,
}

/// Starts this instance's listener, lease renewal and acknowledgements. `listen_url` is the
/// database (or a direct route to it: a transaction pooler cannot `LISTEN`).
pub fn spawn(db: DatabaseConnection, listen_url: String, instance: Arc<str>, gate: Arc<Gate>) {
    let (heard_tx, heard_rx) = watch::channel(Heard::default());
    let restart = Arc::new(Notify::new());
    tokio::spawn(listen(
        listen_url,
        Arc::clone(&instance),
        Arc::clone(&gate),
        heard_tx,
        Arc::clone(&restart),
    ));
    tokio::spawn(renew(
        db.clone(),
        Arc::clone(&instance),
        gate,
        heard_rx.clone(),
        restart,
    ));
    tokio::spawn(acknowledge(db, instance, heard_rx));
}

async fn listen(
    url: String,
    instance: Arc<str>,
    gate: Arc<Gate>,
    heard: watch::Sender<Heard>,
    restart: Arc<Notify>,
) {
    let mine = format!("h{instance}:");
    loop {
        let mut listener = match connect_listener(&url).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cache listener: cannot listen; the cache stays off");
                tokio::time::sleep(RENEW_EVERY).await;
                continue;
            }
        };
        // Whatever was missed while not listening is gone with this generation.
        gate.invalidate();
        heard.send_modify(|h| h.reconnects += 1);
        loop {
            let received = tokio::select! {
                received = listener.try_recv() => received,
                // No heartbeat came back for a whole lease: the connection may be dead without
                // either side knowing (no keepalive). Start over on a new one.
                () = restart.notified() => {
                    tracing::warn!("cache listener: no heartbeat came back; reconnecting");
                    gate.expire_lease();
                    gate.invalidate();
                    break;
                }
            };
            match received {
                Ok(Some(notification)) => hear(notification.payload(), &mine, &gate, &heard),
                Ok(None) => {
                    // Lost and (eagerly) reconnected: notifications in between were lost.
                    tracing::warn!("cache listener: connection lost; the cache was dropped");
                    gate.expire_lease();
                    gate.invalidate();
                    heard.send_modify(|h| h.reconnects += 1);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cache listener failed; reconnecting");
                    gate.expire_lease();
                    gate.invalidate();
                    break;
                }
            }
        }
    }
}

/// Applies one notification: `c` a change, `p<seq>` a ping, `h<instance>:<n>:<seq>` a
/// heartbeat of this instance (which also proves every ping up to `seq` was heard: they were
/// committed before the renewal that sent it read `seq`).
fn hear(payload: &str, mine: &str, gate: &Gate, heard: &watch::Sender<Heard>) {
    let ping = |seq: i64| {
        heard.send_if_modified(|h| {
            let newer = seq > h.ping;
            h.ping = h.ping.max(seq);
            newer
        });
    };
    if payload == "c" {
        gate.invalidate();
    } else if let Some(Ok(seq)) = payload.strip_prefix('p').map(str::parse::<i64>) {
        ping(seq);
    } else if let Some((n, seq)) = payload.strip_prefix(mine).and_then(|r| r.split_once(':'))
        && let (Ok(n), Ok(seq)) = (n.parse::<u64>(), seq.parse::<i64>())
    {
        ping(seq);
        heard.send_modify(|h| h.heartbeat = h.heartbeat.max(n));
    }
}

async fn connect_listener(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Renews the lease, one heartbeat at a time: the next renewal is sent only once the last
/// heartbeat came back (or the listener reconnected); after a whole lease without it, the
/// listener is told to start over.
async fn renew(
    db: DatabaseConnection,
    instance: Arc<str>,
    gate: Arc<Gate>,
    mut heard: watch::Receiver<Heard>,
    restart: Arc<Notify>,
) {
    if let Err(e) = forget_old_instances(&db).await {
        tracing::warn!(error = %e, "cache lease: could not forget old instances");
    }
    let local = LEASE * LOCAL_SHARE_PER_MILLE / 1000;
    let mut n: u64 = 0;
    loop {
        n += 1;
        let reconnects = heard.borrow().reconnects;
        let sent_at = Instant::now();
        if let Err(e) = send_renewal(&db, &instance, n).await {
            tracing::warn!(error = %e, "cache lease: renewal failed");
            tokio::time::sleep(RENEW_EVERY).await;
            continue;
        }
        // Wait for this heartbeat, or for the listener to have started over.
        let back = tokio::time::timeout(
            LEASE,
            heard.wait_for(|h| h.heartbeat >= n || h.reconnects != reconnects),
        )
        .await
        .map(|r| r.map(|h| h.heartbeat >= n));
        match back {
            Ok(Ok(true)) => {
                if gate.lease_lapsed() {
                    gate.invalidate();
                }
                gate.lease_until(sent_at + local);
            }
            // The listener (re)connected after the renewal was sent, so it may not have heard
            // the heartbeat: renew again at once.
            Ok(Ok(false)) => continue,
            Ok(Err(_)) => return, // the listener is gone: the server is stopping
            // No heartbeat for a whole lease: the listener starts over, and no renewal is sent
            // (none may extend the lease in the database) until it has.
            Err(_) => {
                restart.notify_one();
                if heard
                    .wait_for(|h| h.reconnects != reconnects)
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        }
        tokio::time::sleep_until((sent_at + RENEW_EVERY).into()).await;
    }
}

async fn send_renewal(
    db: &DatabaseConnection,
    instance: &str,
    n: u64,
) -> Result<(), sea_orm::DbErr> {
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"WITH "lease" AS (
             INSERT INTO "hubkeep_instances" ("id", "lease_until", "acked_seq")
             VALUES ($1, now() + make_interval(secs => $2::float8 / 1000), 0)
             ON CONFLICT ("id") DO UPDATE SET "lease_until" = EXCLUDED."lease_until"
             RETURNING "id")
           SELECT pg_notify($3, 'h' || "id" || ':' || $4 || ':'
                  || (SELECT "seq" FROM "hubkeep_cache_epoch")),
                  set_config('synchronous_commit', 'off', true)
           FROM "lease""#,
        [
            instance.into(),
            lease_ms.into(),
            CHANNEL.into(),
            n.to_string().into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// Writes the highest ping heard as this instance's acknowledgement.
async fn acknowledge(
    db: DatabaseConnection,
    instance: Arc<str>,
    mut heard: watch::Receiver<Heard>,
) {
    let mut acked = 0;
    loop {
        let ping = heard.borrow_and_update().ping;
        if ping > acked {
            let done = db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    r#"UPDATE "hubkeep_instances" SET "acked_seq" = GREATEST("acked_seq", $2)
                       WHERE "id" = $1
                       AND set_config('synchronous_commit', 'off', true) IS NOT NULL"#,
                    [instance.as_ref().into(), ping.into()],
                ))
                .await;
            match done {
                Ok(done) if done.rows_affected() > 0 => acked = ping,
                // Not registered yet (no renewal has been sent): try again shortly.
                Ok(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cache acknowledgement failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        if heard.changed().await.is_err() {
            return;
        }
    }
}

/// After a request that may have changed what instances cache: pings, then waits until every
/// instance with a live lease has acknowledged the ping (at most until those leases run out).
/// When the database cannot be asked, waits a whole lease instead: by then every instance
/// that could not hear the change has stopped serving from its cache.
pub async fn barrier(db: &DatabaseConnection) {
    if let Err(e) = wait_for_acknowledgements(db).await {
        tracing::warn!(error = %e, "cache barrier: waiting out the lease instead");
        tokio::time::sleep(LEASE).await;
    }
}

async fn wait_for_acknowledgements(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"WITH "s" AS (UPDATE "hubkeep_cache_epoch" SET "seq" = "seq" + 1 RETURNING "seq")
               SELECT "seq", pg_notify($1, 'p' || "seq"),
                      set_config('synchronous_commit', 'off', true)
               FROM "s""#,
            [CHANNEL.into()],
        ))
        .await?
        .ok_or_else(|| sea_orm::DbErr::Custom("hubkeep_cache_epoch has no row".into()))?;
    let ping: i64 = row.try_get("", "seq")?;
    let give_up = Instant::now() + LEASE * 3;
    let mut pause = Duration::from_millis(1);
    loop {
        let behind = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                r#"SELECT count(*) AS "behind" FROM "hubkeep_instances"
                   WHERE "lease_until" > now() AND "acked_seq" < $1"#,
                [ping.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "behind"))
            .transpose()?
            .unwrap_or(0);
        if behind == 0 {
            return Ok(());
        }
        if Instant::now() > give_up {
            // Leases last 3 s and are renewed only through a listener that hears pings: an
            // instance still behind after three leases is renewing without hearing.
            return Err(sea_orm::DbErr::Custom(format!(
                "{behind} instance(s) renew their lease but did not acknowledge ping {ping}"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Whether `db` needs the protocol at all.
pub fn applies(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Removes instances whose lease ran out a day ago (crashed without cleaning up).
async fn forget_old_instances(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(
        r#"DELETE FROM "hubkeep_instances" WHERE "lease_until" < now() - interval '1 day'"#,
    )
    .await
    .map(|_| ())
}
