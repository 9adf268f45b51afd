//! SQLite's own record of commits, read without SQLite: the WAL-index header at the start of
//! the database's `-shm` file (<https://www.sqlite.org/walformat.html>, "The WAL-Index
//! Header"). In WAL mode a commit becomes visible to readers exactly when the committing
//! connection writes a new header there (its `iChange` counter goes up on every commit, its
//! `mxFrame` moves, a WAL restart changes the salts). SQLite writes the header twice, the
//! second copy first, and readers trust it only when both copies agree; so do we.
//!
//! So the read cache on SQLite ([`super::Gate::sqlite`]) asks "has anything committed since I
//! read this?" with one `pread` and no round trip through a database connection, and sees
//! commits of every connection and process alike — this server's writer, the `hubkeep` CLI,
//! an operator's `sqlite3` shell.

use std::fs::File;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, RwLock};

/// One copy of the header (`WalIndexHdr`, 48 bytes).
const HEADER: usize = 48;

/// What identifies the last commit: which opening of the `-shm` file this is, and its header's
/// `iChange`, `mxFrame`, first salt and checksum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fingerprint {
    opening: u64,
    header: u128,
}

/// The `-shm` file of a database, opened on first use.
#[derive(Debug)]
pub struct WalIndex {
    path: PathBuf,
    file: RwLock<Option<(u64, Arc<File>)>>,
    /// Times the file was (re)opened. SQLite removes the `-shm` when the last connection to
    /// the database closes and rebuilds a header from scratch in the new one, which can equal
    /// an earlier header byte for byte: the opening keeps the two apart.
    openings: AtomicU64,
}

impl WalIndex {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: RwLock::new(None),
            openings: AtomicU64::new(0),
        }
    }

    /// The last commit's [`Fingerprint`]. `None` when the file cannot be read, is not a WAL
    /// index yet, or is being written (the two copies differ).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        let (opening, file) = self.file()?;
        let mut both = [0_u8; 2 * HEADER];
        file.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        if first != second {
            return None;
        }
        let word = |at: usize| {
            u32::from_ne_bytes([first[at], first[at + 1], first[at + 2], first[at + 3]])
        };
        // iVersion 3007000; isInit (byte 12) set once the header was written.
        if word(0) != 3_007_000 || first[12] == 0 {
            return None;
        }
        let (i_change, mx_frame, salt, checksum) = (word(8), word(16), word(32), word(40));
        Some(Fingerprint {
            opening,
            header: u128::from(i_change) << 96
                | u128::from(mx_frame) << 64
                | u128::from(salt) << 32
                | u128::from(checksum),
        })
    }

    /// The open file and which opening it is, reopened when SQLite has removed it (the last
    /// connection to the database closed; the next one makes a new `-shm`).
    fn file(&self) -> Option<(u64, Arc<File>)> {
        let current = self.file.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((opening, file)) = current
            && file.metadata().is_ok_and(|m| m.nlink() > 0)
        {
            return Some((opening, file));
        }
        let opening = self.openings.fetch_add(1, SeqCst) + 1;
        let opened = Arc::new(File::open(&self.path).ok()?);
        *self.file.write().unwrap_or_else(|e| e.into_inner()) =
            Some((opening, Arc::clone(&opened)));
        Some((opening, opened))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Database};

    async fn exec(db: &sea_orm::DatabaseConnection, sql: &str) {
        db.execute_unprepared(sql).await.unwrap();
    }

    /// Every commit changes the fingerprint, from any connection; reads and a transaction
    /// rolled back do not.
    #[tokio::test]
    async fn every_commit_of_any_connection_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let one = Database::connect(&url).await.unwrap();
        exec(&one, "PRAGMA journal_mode=WAL").await;
        exec(&one, "CREATE TABLE t (a INTEGER)").await;
        let index = WalIndex::new(dir.path().join("t.db-shm"));
        let first = index
            .fingerprint()
            .expect("a WAL index after the first commit");

        exec(&one, "INSERT INTO t VALUES (1)").await;
        let second = index.fingerprint().unwrap();
        assert_ne!(first, second, "a commit");

        exec(&one, "SELECT * FROM t").await;
        assert_eq!(index.fingerprint().unwrap(), second, "a read is no commit");

        exec(&one, "BEGIN; UPDATE t SET a = 2; ROLLBACK").await;
        assert_eq!(
            index.fingerprint().unwrap(),
            second,
            "nothing was committed"
        );

        // Another connection (as another process would be).
        let other = Database::connect(&url).await.unwrap();
        exec(&other, "DELETE FROM t").await;
        let third = index.fingerprint().unwrap();
        assert_ne!(second, third, "another connection's commit");

        // A checkpoint that restarts the WAL, then a commit: still a change.
        exec(&other, "PRAGMA wal_checkpoint(TRUNCATE)").await;
        exec(&one, "INSERT INTO t VALUES (3)").await;
        let fourth = index.fingerprint().unwrap();
        assert_ne!(fourth, third);

        // Every connection closes: SQLite removes the `-shm`, and the next connection builds
        // a header from scratch, which may equal one seen before; the fingerprint may not.
        one.close().await.unwrap();
        other.close().await.unwrap();
        assert!(
            !dir.path().join("t.db-shm").exists(),
            "SQLite removed the -shm"
        );
        let again = Database::connect(&url).await.unwrap();
        exec(&again, "SELECT * FROM t").await;
        let reopened = index.fingerprint().unwrap();
        assert_ne!(reopened, fourth);
        assert_ne!(reopened.opening, fourth.opening, "a new opening");
    }

    #[test]
    fn no_file_no_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            WalIndex::new(dir.path().join("none-shm")).fingerprint(),
            None
        );
        std::fs::write(dir.path().join("zero-shm"), [0_u8; 200]).unwrap();
        assert_eq!(
            WalIndex::new(dir.path().join("zero-shm")).fingerprint(),
            None,
            "not initialised"
        );
    }
}
