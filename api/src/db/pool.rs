//! Opening the database: the writer pool, the readers beside it, and migrations.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use hubkeep_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::config::{SQLITE_FILE, Settings};

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
    let own_file = url.starts_with("sqlite:") && settings.database_url.is_none();
    if own_file {
        // The database holds sealed secrets, sessions and people's details: only the
        // server's user reads it (SPEC S14).
        private_dir(&settings.data_dir)?;
        write_private_if_missing(&settings.data_dir.join(SQLITE_FILE))?;
    }
    let mut options = pool_options(&url);
    options.max_connections(settings.database.max_connections.max(1));
    if url.starts_with("sqlite:") {
        // Deleted and replaced content is overwritten with zeros, so a secret sealed anew
        // (or a row deleted) does not linger in free space (SPEC S14).
        options.map_sqlx_sqlite_opts(|opts| opts.pragma("secure_delete", "ON"));
        // One connection writes: SQLite has one writer at a time, and a second connection
        // upgrading a read transaction to a write one could fail with SQLITE_BUSY instead of
        // waiting. Reads on the hot paths go through the reader pool ([`connect_reader`]).
        options.max_connections(1);
        // And it stays open while the server runs: SQLite removes the `-shm` file (which the
        // read cache watches, `crate::cache::wal`) when the last connection closes.
        options.map_sqlx_sqlite_pool_opts(|opts| {
            opts.min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        });
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
    if own_file {
        // SQLite creates the -wal and -shm files with the database file's mode; a file
        // left by an older version is made private here.
        for suffix in ["", "-wal", "-shm"] {
            let path = settings.data_dir.join(format!("{SQLITE_FILE}{suffix}"));
            if path.exists() {
                set_private(&path, 0o600)?;
            }
        }
    }
    Ok(db)
}

/// Creates `dir` if needed and makes it readable by its owner only (0700). A directory the
/// server may not change (another owner, a mounted volume) is left as it is, with a warning.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    if let Err(e) = set_private(dir, 0o700) {
        tracing::warn!(error = %format!("{e:#}"), "the data directory stays as it is");
    }
    Ok(())
}

/// Writes `bytes` to `path`, created (or truncated) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    set_private(path, 0o600)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Creates an empty file with mode 0600 unless `path` exists (so SQLite opens a file that
/// was never readable by others).
fn write_private_if_missing(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    write_private(path, b"")
}

#[cfg(unix)]
fn set_private(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("restricting the permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn set_private(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
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

/// The `-shm` file of the SQLite database (its WAL index, [`crate::cache::wal`]); `None` for an
/// in-memory database or a URL that names no file.
pub fn shm_file(settings: &Settings) -> Option<std::path::PathBuf> {
    let url = settings.database_url();
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options: sea_orm::sqlx::sqlite::SqliteConnectOptions = url.parse().ok()?;
    // SQLite names the `-shm` after the database file with symbolic links resolved.
    let file = options.get_filename();
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let mut name = file.into_os_string();
    name.push("-shm");
    Some(name.into())
}

pub fn backend_name(settings: &Settings) -> &'static str {
    if settings.database_url().starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    }
}
