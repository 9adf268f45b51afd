//! Hubkeep's schema. The same migrations serve SQLite (the embedded default) and PostgreSQL
//! (scale-out); each one is named `mYYYYMMDD_HHMMSS_verb_noun` and never edited once released.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_tenants;
mod m20261123_000002_create_schema;
mod m20261203_000001_create_psa_call_budget;
mod m20261203_000002_create_prune_indexes;
mod m20261204_000001_revoke_credentials_without_access;
mod m20261204_000002_create_psa_feed;
mod m20261204_000003_create_psa_webhooks;
mod m20261204_000004_create_oidc_sign_in;
mod m20261205_000001_create_notifications;
pub mod m20261206_000001_create_cache_notifications;

/// Runs every migration in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_tenants::Migration),
            Box::new(m20261123_000002_create_schema::Migration),
            Box::new(m20261203_000001_create_psa_call_budget::Migration),
            Box::new(m20261203_000002_create_prune_indexes::Migration),
            Box::new(m20261204_000001_revoke_credentials_without_access::Migration),
            Box::new(m20261204_000002_create_psa_feed::Migration),
            Box::new(m20261204_000003_create_psa_webhooks::Migration),
            Box::new(m20261204_000004_create_oidc_sign_in::Migration),
            Box::new(m20261205_000001_create_notifications::Migration),
            Box::new(m20261206_000001_create_cache_notifications::Migration),
        ]
    }
}
