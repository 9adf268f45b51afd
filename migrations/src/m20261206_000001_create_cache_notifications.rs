//! The read cache's protocol on PostgreSQL (issue 24; `api/src/cache/postgres.rs`): a trigger
//! on every table a cached read may look at notifies `hubkeep_cache` once per changing
//! transaction; `hubkeep_cache_epoch` numbers the writers' pings in commit order (its row
//! lock is held only by the one-statement ping transaction); `hubkeep_instances` holds each
//! instance's lease and the highest ping it has acknowledged.
//!
//! Every table gets the trigger except [`UNWATCHED`], tables written often that no cached read
//! looks at; a test of the API checks that every table of the schema is one or the other, so
//! a table added later cannot be forgotten. `api_tokens.last_used_at` changes nothing a read
//! caches, so an `UPDATE` of only that column does not notify. SQLite needs none of this: the
//! cache reads every commit off the database's WAL index (`api/src/cache/wal.rs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Tables whose changes no cached read depends on (logs, queues, one-time codes, counters).
pub const UNWATCHED: [&str; 13] = [
    "activity_log",
    "hubkeep_cache_epoch",
    "hubkeep_instances",
    "launch_assertions",
    "notifications",
    "oidc_codes",
    "oidc_logins",
    "psa_call_budget",
    "psa_feed",
    "psa_webhook_callouts",
    "rate_limits",
    "seaql_migrations",
    "sync_runs",
];

/// Columns whose updates alone do not notify.
pub const UNWATCHED_COLUMNS: [(&str, &str); 1] = [("api_tokens", "last_used_at")];

/// The name of the trigger on each watched table.
pub const TRIGGER: &str = "hubkeep_cache_changed";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared(
            r#"
CREATE TABLE hubkeep_cache_epoch (
    id SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO hubkeep_cache_epoch (id, seq) VALUES (1, 0);
CREATE TABLE hubkeep_instances (
    id TEXT NOT NULL PRIMARY KEY,
    lease_until TIMESTAMPTZ NOT NULL,
    acked_seq BIGINT NOT NULL
);
CREATE FUNCTION hubkeep_cache_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hubkeep_cache', 'c');
    RETURN NULL;
END
$$;
"#,
        )
        .await?;
        let tables = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 ORDER BY table_name",
            ))
            .await?;
        for row in tables {
            let table: String = row.try_get("", "name")?;
            if UNWATCHED.contains(&table.as_str()) {
                continue;
            }
            let skipped: Vec<&str> = UNWATCHED_COLUMNS
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, c)| *c)
                .collect();
            let update = if skipped.is_empty() {
                "UPDATE".to_owned()
            } else {
                let columns = db
                    .query_all_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT column_name::text AS name FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1 \
                         ORDER BY ordinal_position",
                        [table.clone().into()],
                    ))
                    .await?
                    .into_iter()
                    .map(|r| r.try_get::<String>("", "name"))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|c| !skipped.contains(&c.as_str()))
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>();
                format!("UPDATE OF {}", columns.join(", "))
            };
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {TRIGGER} AFTER INSERT OR {update} OR DELETE OR TRUNCATE \
                 ON \"{table}\" FOR EACH STATEMENT EXECUTE FUNCTION hubkeep_cache_changed()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared(
            "DROP FUNCTION IF EXISTS hubkeep_cache_changed() CASCADE; \
             DROP TABLE IF EXISTS hubkeep_instances; DROP TABLE IF EXISTS hubkeep_cache_epoch",
        )
        .await?;
        Ok(())
    }
}
