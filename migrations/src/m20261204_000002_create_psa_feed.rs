//! The PSA change feed (SPEC S12): one row per tenant with the reconciliation job's lease
//! (which instance runs it, until when) and what its last run did.
//!
//! The lease is taken with one conditional `UPDATE` (free or expired, and for a scheduled run
//! only when it is due), so on several instances exactly one runs a tenant's job; an instance that dies
//! holding it loses it when `lease_expires_at` passes. `due_at` is when the next scheduled
//! run may start: one period after the row is made (a new tenant) or after the last run.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "
CREATE TABLE psa_feed (
    tenant_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    lease_holder TEXT NULL,
    lease_expires_at {TS} NULL,
    due_at {TS} NOT NULL,
    last_run_at {TS} NULL,
    users_checked BIGINT NOT NULL DEFAULT 0,
    changes_applied BIGINT NOT NULL DEFAULT 0,
    last_error_code TEXT NULL,
    last_error_reason TEXT NULL,
    last_error_detail TEXT NULL,
    last_error_at {TS} NULL,
    CHECK ((lease_holder IS NULL) = (lease_expires_at IS NULL))
)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let ts = match db.get_database_backend() {
            DbBackend::Postgres => "TIMESTAMPTZ",
            _ => "TEXT",
        };
        db.execute_unprepared(&TABLE.replace("{TS}", ts)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS psa_feed")
            .await?;
        Ok(())
    }
}
