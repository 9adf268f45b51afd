//! Hubkeep's API server: configuration, startup, routes and the problem+json error type.
//!
//! `main.rs` only parses the command line and calls into this library, so integration tests
//! boot exactly the server that ships ([`startup::Application`]).

pub mod access_tab;
pub mod activity;
pub mod activity_query;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod psa;
pub mod request;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod tenant_cli;
pub mod tenants;
pub mod users;
pub mod users_tab;

use std::sync::Arc;

/// State shared by every request handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: sea_orm::DatabaseConnection,
    pub settings: Arc<config::Settings>,
    pub keys: Arc<auth::keys::Keys>,
    pub psa: Arc<psa::registry::PsaRegistry>,
}
