//! Autotask webhook subscriptions (SPEC S12): one row per tenant that subscribed, with the
//! secret key Autotask signs callouts with (sealed like every stored secret, SPEC S14), and
//! the callouts received, by (`Guid`, `SequenceNumber`), so a replay is applied once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = [
    "
CREATE TABLE psa_webhooks (
    tenant_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    webhook_id BIGINT NOT NULL,
    secret_key TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'deactivated')),
    subscribed_by VARCHAR(36) NULL,
    subscribed_at {TS} NOT NULL,
    last_callout_at {TS} NULL,
    deactivated_at {TS} NULL
)",
    "
CREATE TABLE psa_webhook_callouts (
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    guid VARCHAR(64) NOT NULL,
    sequence_number BIGINT NOT NULL,
    resource_id BIGINT NOT NULL,
    received_at {TS} NOT NULL,
    PRIMARY KEY (tenant_id, guid, sequence_number)
)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let ts = match db.get_database_backend() {
            DbBackend::Postgres => "TIMESTAMPTZ",
            _ => "TEXT",
        };
        for table in TABLES {
            db.execute_unprepared(&table.replace("{TS}", ts)).await?;
        }
        db.execute_unprepared(
            "CREATE INDEX psa_webhook_callouts_received ON psa_webhook_callouts (received_at)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE IF EXISTS psa_webhook_callouts")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS psa_webhooks")
            .await?;
        Ok(())
    }
}
