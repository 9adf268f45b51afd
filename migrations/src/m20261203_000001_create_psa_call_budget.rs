//! The hourly count of PSA calls per tenant (SPEC S11), shared by every API instance.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PsaCallBudget::Table)
                    .col(
                        ColumnDef::new(PsaCallBudget::TenantId)
                            .string_len(36)
                            .not_null(),
                    )
                    // Unix seconds of the start of the UTC hour: an integer compares and
                    // upserts the same way on both backends.
                    .col(
                        ColumnDef::new(PsaCallBudget::HourStart)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PsaCallBudget::Calls)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .primary_key(
                        Index::create()
                            .col(PsaCallBudget::TenantId)
                            .col(PsaCallBudget::HourStart),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PsaCallBudget::Table, PsaCallBudget::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PsaCallBudget::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PsaCallBudget {
    Table,
    TenantId,
    HourStart,
    Calls,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}
