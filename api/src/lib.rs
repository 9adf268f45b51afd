//! Hubkeep's API server: configuration, startup, routes and the problem+json error type.
//!
//! `main.rs` only parses the command line and calls into this library, so integration tests
//! boot exactly the server that ships ([`startup::Application`]).

pub mod access;
pub mod activity;
pub mod cache;
pub mod cli;
pub mod config;
pub mod connections;
pub mod db;
pub mod error;
pub mod feed;
pub mod http;
pub mod hub_access;
pub mod identity;
pub mod notify;
pub mod pagination;
pub mod psa;
pub mod startup;
pub mod telemetry;
pub mod tenant;

use std::sync::Arc;

/// State shared by every request handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Every write, and every read inside a transaction.
    pub db: sea_orm::DatabaseConnection,
    /// Reads outside transactions on the hot paths (authentication, the GET handlers of
    /// `/me` and connections, the users list): the same pool as `db` on PostgreSQL; on SQLite
    /// a pool of read-only connections beside `db`'s single writer (`db::pool::connect_reader`).
    /// A read here sees every change committed before it starts, so a client reads its own
    /// writes.
    pub reader: sea_orm::DatabaseConnection,
    pub settings: Arc<config::Settings>,
    pub keys: Arc<identity::keys::Keys>,
    /// The access tokens `keys` have verified (`identity::access_token::Verified`).
    pub verified_tokens: Arc<identity::access_token::Verified>,
    /// The master key that seals stored secrets (`db::sealed`).
    pub secrets: Arc<db::Keyring>,
    pub psa: Arc<psa::registry::PsaRegistry>,
    /// The tenants' OpenID providers (SPEC S13): discovery and JWKS cache.
    pub oidc: Arc<identity::oidc::provider::OidcProviders>,
    /// This process among the instances sharing the database (`<pid>-<random>`): the holder
    /// named in a lease such as the reconciliation job's (SPEC S12).
    pub instance_id: Arc<str>,
    /// How notification emails are addressed and linked (SPEC S15).
    pub letterhead: Arc<notify::sender::Letterhead>,
    /// What authentication and the hottest reads keep between requests, behind the gate
    /// that keeps it honest (issue 24, [`cache`]).
    pub cache: Arc<cache::ReadCache>,
}

impl AppState {
    pub fn launch_limit(&self) -> identity::rate_limit::Limit {
        identity::rate_limit::Limit {
            limit: self.settings.rate_limit.launch_per_window,
            window_secs: self.settings.rate_limit.window_secs,
        }
    }

    pub fn refresh_limit(&self) -> identity::rate_limit::Limit {
        identity::rate_limit::Limit {
            limit: self.settings.rate_limit.refresh_per_window,
            window_secs: self.settings.rate_limit.window_secs,
        }
    }
}
