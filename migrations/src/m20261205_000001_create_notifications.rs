//! Notifications (SPEC S15): the transactional outbox — a message row is written in the
//! transaction of the change it tells about, and a background sender delivers it — and the
//! categories each person turned off; and each tenant's sender name.
//!
//! A message keeps its subject and its content (`body`: JSON paragraphs and a console link
//! by path) from the moment of the change; the sender renders text and HTML around them with
//! the operator's public address, and names it by one `Message-ID` (from its id) on every
//! attempt. `lease_holder`/`lease_expires_at` mark the
//! instance sending it: on SQLite a conditional `UPDATE` takes the lease, on PostgreSQL the
//! sender selects due rows `FOR UPDATE SKIP LOCKED` and takes the lease in the same
//! transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = [
    "
CREATE TABLE notifications (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    category TEXT NOT NULL
        CHECK (category IN ('invitations', 'invitation_updates', 'ownership', 'hub_access')),
    kind TEXT NOT NULL,
    recipient_user_id VARCHAR(36) REFERENCES users (id) ON DELETE SET NULL,
    recipient_email TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'dead')),
    attempts INTEGER NOT NULL,
    last_error TEXT,
    next_attempt_at {TS} NOT NULL,
    lease_holder TEXT,
    lease_expires_at {TS},
    created_at {TS} NOT NULL,
    sent_at {TS}
)",
    "
CREATE TABLE notification_preferences (
    user_id VARCHAR(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category TEXT NOT NULL
        CHECK (category IN ('invitations', 'invitation_updates', 'ownership', 'hub_access')),
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, category)
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
        // The name in the `From` of the tenant's emails; NULL: the operator's `[smtp] from`.
        db.execute_unprepared("ALTER TABLE tenant_settings ADD COLUMN email_sender_name TEXT")
            .await?;
        // The sender's scan: due messages by time.
        db.execute_unprepared(
            "CREATE INDEX notifications_due ON notifications (status, next_attempt_at)",
        )
        .await?;
        // The elevated list: a tenant's messages, newest first.
        db.execute_unprepared("CREATE INDEX notifications_tenant ON notifications (tenant_id, id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["notification_preferences", "notifications"] {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
                .await?;
        }
        db.execute_unprepared("ALTER TABLE tenant_settings DROP COLUMN email_sender_name")
            .await?;
        Ok(())
    }
}
