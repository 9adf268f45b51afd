//! Rate limits on sign-in and refresh per client address (SPEC S8, S10). The counters live in
//! the database, so every instance behind a load balancer shares them.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::activity::RequestMeta;
use crate::error::ApiError;

/// A fixed window: at most `limit` requests per `window_secs` for one key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub limit: u32,
    pub window_secs: u32,
}

/// Counts a request of `meta`'s client (its address, an IPv6 client by /64) against
/// `bucket`; refuses it with 429 and `Retry-After` once the window's allowance is spent. A
/// request without a known address (not possible over TCP) is not limited.
pub async fn check(
    db: &impl ConnectionTrait,
    bucket: &str,
    meta: &RequestMeta,
    limit: Limit,
) -> Result<(), ApiError> {
    let Some(ip) = &meta.ip else { return Ok(()) };
    let key = format!("{bucket}:{}", rate_limit_key(ip));
    let hits = bump(db, &key, limit).await?;
    refuse_over(hits, limit)
}

/// How many times the per-issuer launch allowance one client has across all issuers.
pub const ANY_ISSUER_FACTOR: u32 = 10;

/// The bucket of launches against one issuer (SPEC S14): [`check`] counts them per client,
/// so a client sending garbage is refused while another is not, and attempts against one
/// tenant's `iss` never refuse a launch for another tenant. The issuer is hashed (it is the
/// client's say-so, of any length; an assertion without one has the empty issuer's bucket).
pub fn launch_bucket(issuer: &str) -> String {
    format!("launch:{}", &super::secret::hash(issuer)[..16])
}

/// The current window's start, and the seconds until it ends.
fn window(limit: Limit) -> (DateTime<Utc>, i64) {
    let now = Utc::now().timestamp();
    let window = i64::from(limit.window_secs.max(1));
    let start = now - now.rem_euclid(window);
    (
        DateTime::from_timestamp(start, 0).unwrap_or_default(),
        start + window - now,
    )
}

fn refuse_over(hits: i64, limit: Limit) -> Result<(), ApiError> {
    if limit.limit == 0 || limit.window_secs == 0 || hits <= i64::from(limit.limit) {
        return Ok(());
    }
    let (_, left) = window(limit);
    let retry_after_secs = u64::try_from(left).unwrap_or(1).max(1);
    Err(ApiError::RateLimited { retry_after_secs })
}

fn hits_of(row: &sea_orm::QueryResult) -> Result<i64, sea_orm::DbErr> {
    row.try_get_by_index::<i32>(0)
        .map(i64::from)
        .or_else(|_| row.try_get_by_index::<i64>(0))
}

/// Adds one to `key`'s count in the current window (restarting an older window); the count.
async fn bump(db: &impl ConnectionTrait, key: &str, limit: Limit) -> Result<i64, ApiError> {
    if limit.limit == 0 || limit.window_secs == 0 {
        return Ok(0);
    }
    let (window_start, _) = window(limit);
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
    match row {
        Some(row) => Ok(hits_of(&row)?),
        None => Ok(0),
    }
}

/// The key one client is limited under: an IPv4 address, or an IPv6 /64 (one subscriber's
/// network hands out a /64, so counting single IPv6 addresses counts nothing).
pub fn rate_limit_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => IpNet::new(IpAddr::V6(v6), 64)
                .map(|n| n.trunc().to_string())
                .unwrap_or_else(|_| v6.to_string()),
        },
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(rate_limit_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            rate_limit_key("2001:db8:1:2:bbbb::9"),
            rate_limit_key("2001:db8:1:2:aaaa::1")
        );
        assert_ne!(
            rate_limit_key("2001:db8:1:3::1"),
            rate_limit_key("2001:db8:1:2::1")
        );
        assert_eq!(rate_limit_key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(rate_limit_key("203.0.113.7"), "203.0.113.7");
    }
}
