//! SPEC S12, losing access loses every credential: from this release on, every change that
//! takes a user's access to `none` revokes their sessions and API tokens in its transaction.
//! Users who were already at `none` before it (stored `access_rank` 0) may still hold
//! credentials that were refused only while their access lasted to be `none`; this revokes
//! them once, so that no reactivation can bring them back. (No activity entry: a migration
//! runs outside any request; `docs/decisions.md` says so.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let now = chrono::Utc::now();
        let without_access = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("users"))
            .and_where(Expr::col(Alias::new("access_rank")).eq(0))
            .to_owned();
        for (table, reason) in [("sessions", Some("access_withdrawn")), ("api_tokens", None)] {
            let mut update = Query::update();
            update
                .table(Alias::new(table))
                .value(Alias::new("revoked_at"), now)
                .and_where(Expr::col(Alias::new("revoked_at")).is_null())
                .and_where(Expr::col(Alias::new("user_id")).in_subquery(without_access.clone()));
            if let Some(reason) = reason {
                update.value(Alias::new("revoked_reason"), reason);
            }
            manager.exec_stmt(update).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Revoked credentials stay revoked (SPEC S12): nothing to undo.
        Ok(())
    }
}
