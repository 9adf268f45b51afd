//! The API's request and response bodies (SPEC S8, S17): one definition the server
//! serialises and the console deserialises, so neither can drift from the other. utoipa's
//! schema derives sit behind the `openapi` feature; the console builds without them.
//!
//! Each area has its module; the list wrappers, the paging query and the probe answer live
//! here.

pub mod access;
pub mod activity;
pub mod connections;
pub mod feed;
pub mod members;
pub mod notifications;
pub mod oidc;
pub mod runs;
pub mod settings;
pub mod tokens;
pub mod users;

pub use access::*;
pub use activity::*;
pub use connections::*;
pub use feed::*;
pub use members::*;
pub use notifications::*;
pub use oidc::*;
pub use runs::*;
pub use settings::*;
pub use tokens::*;
pub use users::*;

use serde::{Deserialize, Deserializer, Serialize};

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`, via `default`):
/// request fields where `null` clears a value. Serialised the other way round: `None` is
/// left out (`skip_serializing_if`), `Some(None)` is `null`.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A list without pagination (the lists here are bounded: by the members of one connection,
/// or by a people search's `limit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// `?limit=&cursor=`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A probe's answer.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthStatus {
    /// `ok` (process alive) or `ready` (database reachable).
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub status: String,
    /// `/readyz` only: the instance's read cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheStatus>,
}

/// The read cache of one instance (what authentication and the hottest reads keep between
/// requests), as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheStatus {
    /// Whether the instance may serve from its cache right now: on PostgreSQL, while its
    /// lease is fresh and nothing is being caught up; on SQLite, while no commit is between
    /// its start and the writer connection coming back.
    pub usable: bool,
    /// Lookups answered from the cache since the process started (authentication, `/me`'s
    /// pending invitations, a connection).
    pub hits: u64,
    /// Lookups that read the database since the process started.
    pub misses: u64,
}
