//! What the hot read paths keep between requests (issue 24): authentication's joined row
//! (credential, user, level, Access-tab entry), the caller's pending invitations and the
//! member's view of a connection — so that a warm authenticated `GET` does no database work.
//!
//! SPEC S2/S3.3 still hold: a change is refused by the next request on every instance once it
//! has answered its client. The cache never decides that on its own; a [`Gate`] does:
//! - SQLite ([`wal`]): every commit, by this process or any other, changes the WAL-index
//!   header in the database's `-shm` file at the very moment it becomes visible to readers;
//!   the cache holds only what was read under the header it still finds there, so no write
//!   path (nor the CLI, nor a person with `sqlite3`) can leave it stale;
//! - several instances on PostgreSQL ([`postgres`]): triggers `NOTIFY` every change, each
//!   instance drops its cache when one arrives, acknowledges, and serves from its cache only
//!   while its lease is fresh — a lease it extends only when its own heartbeat comes back
//!   through its listener connection; a writer answers only after every live instance has
//!   acknowledged ([`postgres::barrier`]).
//!
//! An entry is stored only if the gate did not move while the request read the database
//! ([`Ticket`]), so a read that raced a commit cannot leave the old row behind. The protocol
//! and its failure cases are in docs/decisions.md ("Authentication without a database read
//! per request").

pub mod postgres;
pub mod wal;

use std::collections::HashMap;
use std::sync::atomic::{
    AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use std::any::Any;
use std::future::Future;

use chrono::{DateTime, Utc};
use hubkeep_shared::{ConnectionId, UserId};

/// Whether the cache may be used now, and which generation of it is current.
#[derive(Debug)]
pub struct Gate {
    /// The generation: every change heard of (PostgreSQL) starts a new one.
    state: AtomicU64,
    /// Nanoseconds since `origin` until which this instance may serve from its cache: far in
    /// the future on SQLite (one instance, nobody to wait for), on PostgreSQL the local end of
    /// the lease ([`postgres`]). Measured on the monotonic clock, which keeps running while
    /// the process is stopped.
    lease_until: AtomicU64,
    origin: Instant,
    hits: AtomicU64,
    misses: AtomicU64,
    /// SQLite: the WAL-index header, read on every look.
    wal: Option<wal::WalIndex>,
}

/// The gate's state when a request looked: an entry read from the database under it is stored
/// only if the gate is still there ([`Gate::holds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    state: u64,
    wal: wal::Fingerprint,
}

impl Gate {
    /// SQLite: no lease (the file itself says whether anything changed); `shm` is the
    /// database's `-shm` file, `None` for an in-memory database, whose cache stays off.
    pub fn sqlite(shm: Option<std::path::PathBuf>) -> Arc<Self> {
        Arc::new(match shm {
            Some(path) => Self::new(u64::MAX, Some(wal::WalIndex::new(path))),
            None => Self::new(0, None),
        })
    }

    /// A gate whose lease starts out expired: several instances (PostgreSQL).
    pub fn leased() -> Arc<Self> {
        Arc::new(Self::new(0, None))
    }

    fn new(lease_until: u64, wal: Option<wal::WalIndex>) -> Self {
        Self {
            state: AtomicU64::new(0),
            lease_until: AtomicU64::new(lease_until),
            origin: Instant::now(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            wal,
        }
    }

    /// The WAL-index header now, or 0 without one; `None` while it cannot be read or is
    /// being written.
    fn wal_now(&self) -> Option<wal::Fingerprint> {
        match &self.wal {
            Some(wal) => wal.fingerprint(),
            None => Some(wal::Fingerprint::default()),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    fn lease_fresh(&self) -> bool {
        self.nanos(Instant::now()) < self.lease_until.load(SeqCst)
    }

    /// The current state, when the cache may be used at all. The lease is checked *before*
    /// the generation is read: a renewal starts a new generation before it extends the lease
    /// ([`postgres`]), so a fresh lease is never paired with a generation older than it.
    pub fn ticket(&self) -> Option<Ticket> {
        if !self.lease_fresh() {
            return None;
        }
        let state = self.state.load(SeqCst);
        let wal = self.wal_now()?;
        Some(Ticket { state, wal })
    }

    /// Whether nothing changed since `ticket` was taken and the cache may still be used
    /// (lease first, as in [`Gate::ticket`]).
    pub fn holds(&self, ticket: Ticket) -> bool {
        self.lease_fresh()
            && self.state.load(SeqCst) == ticket.state
            && self.wal_now() == Some(ticket.wal)
    }

    /// Whether the cache may be used right now.
    pub fn usable(&self) -> bool {
        self.ticket().is_some()
    }

    /// Starts a new generation: every entry stored so far is gone.
    pub fn invalidate(&self) {
        self.state.fetch_add(1, SeqCst);
    }

    /// Lets the cache be used until `until` (the local end of a renewed lease).
    pub fn lease_until(&self, until: Instant) {
        self.lease_until.store(self.nanos(until), SeqCst);
    }

    /// Whether the lease ran out before now (so changes may have been answered without this
    /// instance's acknowledgement).
    pub fn lease_lapsed(&self) -> bool {
        !self.lease_fresh()
    }

    /// Ends the lease now.
    pub fn expire_lease(&self) {
        self.lease_until.store(0, SeqCst);
    }

    /// Lookups served from the cache and from the database since start.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Relaxed), self.misses.load(Relaxed))
    }
}

/// What the cache holds, by what it is looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A session by id.
    Session(String),
    /// A personal API token by the hash of its secret.
    ApiToken(String),
    /// The pending invitations of a user (tenant, user, email key).
    Invitations(String, UserId, String),
    /// A connection as a member sees it (tenant, member, connection).
    Connection(String, UserId, ConnectionId),
}

/// A value of the cache: whatever the reader of a [`Key`] stored ([`ReadCache::get`] hands it
/// back as that type).
pub type Value = Arc<dyn Any + Send + Sync>;

/// At most this many entries; a full cache is emptied (and refilled by the next requests).
const CAPACITY: usize = 100_000;

#[derive(Default)]
struct Entries {
    /// The gate state the entries were read under.
    ticket: Option<Ticket>,
    map: HashMap<Key, Value>,
}

/// The entries, behind the gate.
pub struct ReadCache {
    gate: Arc<Gate>,
    entries: RwLock<Entries>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl ReadCache {
    pub fn new(gate: Arc<Gate>) -> Self {
        Self {
            gate,
            entries: RwLock::new(Entries::default()),
        }
    }

    pub fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    /// The entry, when the cache may be used and it was stored in the current generation;
    /// otherwise the ticket to store what the caller reads from the database (`None` when the
    /// cache may not be used now).
    pub fn get<T: Any + Send + Sync>(&self, key: &Key) -> Result<Arc<T>, Option<Ticket>> {
        let Some(ticket) = self.gate.ticket() else {
            return Err(None);
        };
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        if entries.ticket == Some(ticket)
            && let Some(value) = entries.map.get(key)
            && let Ok(value) = Arc::clone(value).downcast::<T>()
        {
            return Ok(value);
        }
        Err(Some(ticket))
    }

    /// Stores `value`, read from the database under `ticket`, unless the gate moved since.
    pub fn put<T: Any + Send + Sync>(&self, ticket: Option<Ticket>, key: Key, value: Arc<T>) {
        let Some(ticket) = ticket else { return };
        if !self.gate.holds(ticket) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Older entries are of an earlier generation (or, if the gate moved between the check
        // above and this lock, these are: readers under the new state miss them). They are
        // dropped after the lock is released.
        let stale = (entries.ticket != Some(ticket) || entries.map.len() >= CAPACITY)
            .then(|| std::mem::take(&mut entries.map));
        entries.ticket = Some(ticket);
        entries.map.insert(key, value);
        drop(entries);
        drop(stale);
    }

    /// The entry under `key`, or what `load` reads from the database — kept for the next
    /// request when it found something and the gate did not move meanwhile. Counts a hit or
    /// a miss (`/readyz`).
    pub async fn load_through<T, E, F>(&self, key: Key, load: F) -> Result<Option<Arc<T>>, E>
    where
        T: Any + Send + Sync,
        F: Future<Output = Result<Option<T>, E>>,
    {
        let ticket = match self.get::<T>(&key) {
            Ok(value) => {
                self.gate.hits.fetch_add(1, Relaxed);
                return Ok(Some(value));
            }
            Err(ticket) => ticket,
        };
        self.gate.misses.fetch_add(1, Relaxed);
        let Some(value) = load.await? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        self.put(ticket, key, Arc::clone(&value));
        Ok(Some(value))
    }
}

/// Seconds since the Unix epoch of `at` (0 before it).
pub fn epoch_secs(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

/// The lease of an instance on PostgreSQL and how often it is renewed: the longest a write
/// waits for an instance that stopped acknowledging, and (less a renewal and a tenth) how
/// long a renewal may take before the instance stops serving from its cache.
pub const LEASE: Duration = Duration::from_secs(3);
pub const RENEW_EVERY: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    fn unleased() -> Arc<Gate> {
        Arc::new(Gate::new(u64::MAX, None))
    }

    fn value() -> Arc<u32> {
        Arc::new(7)
    }

    fn key(n: &str) -> Key {
        Key::Session(n.to_owned())
    }

    #[test]
    fn an_entry_is_served_until_the_gate_moves() {
        let cache = ReadCache::new(unleased());
        let ticket = cache.get::<u32>(&key("a")).unwrap_err();
        assert!(ticket.is_some());
        cache.put(ticket, key("a"), value());
        assert_eq!(*cache.get::<u32>(&key("a")).unwrap(), 7);
        assert!(
            cache.get::<String>(&key("a")).is_err(),
            "only as what was stored"
        );
        cache.gate().invalidate();
        assert!(
            cache.get::<u32>(&key("a")).is_err(),
            "a new generation drops it"
        );
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_stored() {
        let cache = ReadCache::new(unleased());
        let ticket = cache.get::<u32>(&key("a")).unwrap_err();
        cache.gate().invalidate(); // a change committed while the request read
        cache.put(ticket, key("a"), value());
        assert!(cache.get::<u32>(&key("a")).is_err());
    }

    #[test]
    fn a_leased_gate_serves_only_while_its_lease_is_fresh() {
        let gate = Gate::leased();
        assert!(!gate.usable(), "a new instance has no lease yet");
        gate.lease_until(Instant::now() + Duration::from_secs(60));
        assert!(gate.usable());
        let ticket = gate.ticket().unwrap();
        gate.expire_lease();
        assert!(!gate.usable());
        assert!(!gate.holds(ticket));
        assert!(gate.lease_lapsed());
    }
}
