//! SPEC S16: the activity export is streamed — the real binary exports a million entries
//! while its resident memory stays under 100 MiB.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hubkeep_e2e::Server;
use hubkeep_e2e::browser::demo_launch;
use sea_orm::{ConnectionTrait as _, Statement};

const PRIMARY: i64 = 29_682_885;
const ROWS: u64 = 1_000_000;
const MAX_RSS_KIB: u64 = 100 * 1024;

/// The server's resident set, from `/proc/<pid>/status` (KiB).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn s16_a_million_entries_export_as_csv_in_constant_memory() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(data_dir.path(), &["--demo"]);
    server.wait_ready(&reqwest::Client::new()).await;
    let launch = demo_launch(&server.base, PRIMARY).await;
    let token = launch["access_token"].as_str().unwrap().to_owned();

    // A million entries written straight into the log, as its writers would leave them
    // (sqlx writes an instant as RFC 3339 with `+00:00`, whole seconds without a fraction).
    let db = sea_orm::Database::connect(format!(
        "sqlite://{}?mode=rw",
        data_dir.path().join("hubkeep.db").display()
    ))
    .await
    .unwrap();
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_string(
        backend,
        "PRAGMA busy_timeout = 30000",
    ))
    .await
    .unwrap();
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
             INSERT INTO activity_log (id, tenant_id, at, actor_kind, actor_label, action, \
             target_kind, target_id, target_label, details, ip) \
             SELECT printf('bulk-%08d', i), (SELECT id FROM tenants LIMIT 1), \
             strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || (i / 7) || ' seconds'), \
             'system', 'Bulk, \"quoted\" writer', 'test.bulk', 'tenant', 'n' || i, \
             'Target ' || i, '{{\"i\":' || i || '}}', '192.0.2.1' FROM n"
        ),
    ))
    .await
    .unwrap();
    let before: u64 = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) FROM activity_log",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
        .try_into()
        .unwrap();
    assert!(before > ROWS);
    drop(db);

    // Sample the server's memory while it streams.
    let pid = server.pid();
    let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap()));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(now) = rss_kib(pid) {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut res = reqwest::Client::new()
        .get(server.url("/api/v1/activity/export?format=csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    // Read as it comes, holding nothing: count the lines and the bytes.
    let (mut lines, mut bytes, mut chunks) = (0_u64, 0_u64, 0_u64);
    // The end of the file, across chunks (a chunk may be a few bytes).
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = res.chunk().await.expect("the download completes") {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        bytes += chunk.len() as u64;
        chunks += 1;
        tail.extend_from_slice(&chunk);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 4096);
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let peak = peak.load(Ordering::Relaxed);
    println!(
        "activity export: {before} entries, {lines} lines, {bytes} bytes in {chunks} chunks; \
         server RSS peak {} MiB",
        peak / 1024
    );
    assert_eq!(lines, before + 1, "a header and every entry, one line each");
    let tail = String::from_utf8_lossy(&tail);
    let last_line = tail.trim_end().rsplit('\n').next().unwrap();
    assert!(
        last_line.starts_with("\"bulk-00000001\","),
        "the oldest entry comes last: {last_line}"
    );
    assert!(
        peak < MAX_RSS_KIB,
        "the server's RSS peaked at {} MiB exporting {before} entries",
        peak / 1024
    );
    assert!(server.stop());
}
