//! Indexes the pruning job (SPEC S14) deletes by: ended sessions and past rate-limit windows
//! are found without reading whole tables.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, column) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new(table))
                        .col(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

const INDEXES: [(&str, &str, &str); 3] = [
    ("ix_sessions_expires_at", "sessions", "expires_at"),
    ("ix_sessions_revoked_at", "sessions", "revoked_at"),
    ("ix_rate_limits_window_start", "rate_limits", "window_start"),
];
