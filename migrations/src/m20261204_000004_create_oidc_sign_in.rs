//! Sign-in with OpenID Connect (SPEC S13): tenants get a `slug` (their sign-in page
//! `/t/{slug}`), a tenant's provider settings (the client secret sealed like every stored
//! secret, SPEC S14), the sign-ins in flight (`state` → nonce, PKCE verifier, `return_to`;
//! single use, 10 minutes) and the one-time codes the console redeems (60 seconds). Both are
//! bound to the browser that began the sign-in (`browser_hash`, the hash of a cookie), so a
//! sign-in cannot be finished in someone else's browser (login CSRF).
//!
//! Existing tenants get the slug their name suggests (`Northwind IT` → `northwind-it`),
//! numbered in creation order when two names suggest the same one.

use std::collections::HashSet;

use hubkeep_shared::fields::TenantSlug;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = [
    "
CREATE TABLE tenant_oidc (
    tenant_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    label TEXT NOT NULL,
    email_claim TEXT NOT NULL,
    allowed_email_domains TEXT NOT NULL,
    require_email_verified BOOLEAN NOT NULL,
    updated_at {TS} NOT NULL
)",
    "
CREATE TABLE oidc_logins (
    state_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    browser_hash VARCHAR(64) NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    silent BOOLEAN NOT NULL,
    created_at {TS} NOT NULL,
    expires_at {TS} NOT NULL
)",
    "
CREATE TABLE oidc_codes (
    code_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id VARCHAR(36) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    browser_hash VARCHAR(64) NOT NULL,
    expires_at {TS} NOT NULL
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
        db.execute_unprepared(
            "ALTER TABLE tenants ADD COLUMN slug VARCHAR(40) NOT NULL DEFAULT ''",
        )
        .await?;
        backfill_slugs(db).await?;
        db.execute_unprepared("CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug)")
            .await?;
        for table in TABLES {
            db.execute_unprepared(&table.replace("{TS}", ts)).await?;
        }
        db.execute_unprepared("CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at)")
            .await?;
        db.execute_unprepared("CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["oidc_codes", "oidc_logins", "tenant_oidc"] {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
                .await?;
        }
        db.execute_unprepared("DROP INDEX IF EXISTS tenants_slug_key")
            .await?;
        db.execute_unprepared("ALTER TABLE tenants DROP COLUMN slug")
            .await?;
        Ok(())
    }
}

/// Gives every tenant the slug its name suggests, numbered when taken.
async fn backfill_slugs(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, name FROM tenants ORDER BY created_at, id",
        ))
        .await?;
    let mut taken = HashSet::new();
    for row in rows {
        let id: String = row.try_get("", "id")?;
        let name: String = row.try_get("", "name")?;
        let base = TenantSlug::derive(&name);
        let mut slug = base.clone();
        let mut n = 2;
        while !taken.insert(slug.as_str().to_owned()) {
            slug = base.numbered(n);
            n += 1;
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => "UPDATE tenants SET slug = $1 WHERE id = $2",
                _ => "UPDATE tenants SET slug = ? WHERE id = ?",
            },
            [slug.into_string().into(), id.into()],
        ))
        .await?;
    }
    Ok(())
}
