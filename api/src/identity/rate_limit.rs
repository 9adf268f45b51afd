//! Rate limits on sign-in and refresh per client address (SPEC S8, S10). The counters live in
//! the database, so every instance behind a load balancer shares them.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::activity::RequestMeta;
use crate::error::ApiError;

/// A fixed window: at most `limit` requests per `window_secs` for one key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub limit: u32,
    pub window_secs: u32,
}

/// Counts a request of `meta`'s address against `bucket`; refuses it with 429 and
/// `Retry-After` once the window's allowance is spent. A request without a known address
/// (not possible over TCP) is not limited.
pub async fn check(
    db: &impl ConnectionTrait,
    bucket: &str,
    meta: &RequestMeta,
    limit: Limit,
) -> Result<(), ApiError> {
    let Some(ip) = &meta.ip else { return Ok(()) };
    if limit.limit == 0 || limit.window_secs == 0 {
        return Ok(());
    }
    let now = Utc::now().timestamp();
    let window = i64::from(limit.window_secs);
    let start = now - now.rem_euclid(window);
    let window_start: DateTime<Utc> = DateTime::from_timestamp(start, 0).unwrap_or_default();
    let key = format!("{bucket}:{ip}");
    // One statement: insert, or bump the counter of the current window, or restart it.
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start = excluded.window_start \
                    THEN rate_limits.hits + 1 ELSE 1 END, \
             window_start = excluded.window_start \
             RETURNING hits"
        }
        _ => {
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start = excluded.window_start \
                    THEN rate_limits.hits + 1 ELSE 1 END, \
             window_start = excluded.window_start \
             RETURNING hits"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [Value::from(key), Value::from(window_start)],
        ))
        .await?;
    let hits: i64 = match row {
        Some(row) => row
            .try_get_by_index::<i32>(0)
            .map(i64::from)
            .or_else(|_| row.try_get_by_index::<i64>(0))?,
        None => 0,
    };
    if hits > i64::from(limit.limit) {
        let retry_after_secs = u64::try_from(start + window - now).unwrap_or(1).max(1);
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    Ok(())
}
