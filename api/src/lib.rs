//! Hubkeep's API server: configuration, startup, routes and the problem+json error type.
//!
//! `main.rs` only parses the command line and calls into this library, so integration tests
//! boot exactly the server that ships ([`startup::Application`]).

pub mod cli;
pub mod config;
pub mod error;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod telemetry;

/// State shared by every request handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: sea_orm::DatabaseConnection,
}
