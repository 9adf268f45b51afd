//! Opening the database: the writer pool, the readers beside it, and migrations.

use std::time::Duration;

use anyhow::Context;
use hubkeep_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::config::Settings;

/// Creates or upgrades the schema (`hubkeep migrate`).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = connect(settings).await?;
    Migrator::up(&db, None)
        .await
        .context("migrating the database")
}

/// Opens the database pool. The URL is never logged: it may carry a password.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") && settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
    }
    let mut options = pool_options(&url);
    options.max_connections(settings.database.max_connections.max(1));
    if url.starts_with("sqlite:") {
        // One connection writes: SQLite has one writer at a time, and a second connection
        // upgrading a read transaction to a write one could fail with SQLITE_BUSY instead of
        // waiting. Reads on the hot paths go through the reader pool ([`connect_reader`]).
        options.max_connections(1);
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to the {} database", backend_name(settings)))?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // Write-ahead logging: readers never wait for the writer, and a crash loses nothing
        // that was committed. The mode is kept in the database file, so one statement sets it
        // for every connection of the pool.
        db.execute_unprepared("PRAGMA journal_mode=WAL")
            .await
            .context("switching SQLite to write-ahead logging")?;
    }
    Ok(db)
}

/// The pool settings both pools share. A pooled connection is pinged before use only when it
/// has been idle for a while (sqlx's default pings on every checkout: one more round trip per
/// query).
fn pool_options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging_level(tracing::log::LevelFilter::Debug);
    options
}

/// The pool for reads outside transactions ([`AppState::reader`]): `db` itself on PostgreSQL,
/// whose pool already reads in parallel; on SQLite a second pool of `database.sqlite_readers`
/// connections that refuse writes (`PRAGMA query_only`), beside `db`'s single writer; WAL lets
/// them read in parallel with each other and with the writer.
pub async fn connect_reader(
    settings: &Settings,
    db: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    // An in-memory SQLite database exists only on the connection that made it: a second
    // pool would open another, empty one.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite || in_memory {
        return Ok(db.clone());
    }
    let mut options = pool_options(&url);
    options
        .max_connections(settings.database.sqlite_readers.max(1))
        .map_sqlx_sqlite_opts(|opts| opts.pragma("query_only", "ON"));
    Database::connect(options)
        .await
        .context("opening the SQLite reader pool")
}

pub fn backend_name(settings: &Settings) -> &'static str {
    if settings.database_url().starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    }
}
