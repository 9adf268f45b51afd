//! The whole product's schema (SPEC S1–S7, S10), written as SQL because the invariants that
//! matter are things sea-query's builder cannot say: partial unique indexes, a deferred
//! composite foreign key, append-only triggers. The two dialects differ only in the
//! timestamp/date types, the trigger syntax, and the order the circular connection/owner
//! references can be declared in, so one text serves both with a few substitutions.
//!
//! Invariants enforced here (and mapped to problem codes in the API):
//! - one primary user per tenant: `ux_users_primary` (partial unique index);
//! - one hub user per (tenant, PSA resource): `users` unique key;
//! - exactly one owner per connection: `ux_role_assignments_owner` (at most one) plus the
//!   deferred foreign key from `connections(id, owner_user_id, owner_role)` to the owner's
//!   role assignment (at least one, checked at commit, so a connection can only be created
//!   together with its owner and an owner can only leave by being replaced);
//! - single-use launch `jti`: the primary key of `launch_assertions`;
//! - the activity log is append-only: triggers refuse `UPDATE` and `DELETE`.
//!
//! `users.access_rank`/`access_source` store the S2 outcome (0 none, 1 limited, 2 elevated) so
//! the Users tab can sort and filter by it through an index; the API rewrites them in the same
//! transaction as every input that changes (user, PSA snapshot, level cache, Access tab),
//! while authorization itself always recomputes S2 from the inputs.
//!
//! Every table carries `tenant_id`, and references between tenant data go through composite
//! keys `(tenant_id, id)` so a row can never point into another tenant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SCHEMA: &str = r#"
ALTER TABLE tenants ADD COLUMN is_demo BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX ux_tenants_demo ON tenants (is_demo) WHERE is_demo = TRUE;

CREATE TABLE psa_settings (
    tenant_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES tenants (id),
    provider TEXT NOT NULL CHECK (provider IN ('directory', 'autotask')),
    directory_path TEXT NULL,
    autotask_zone_url TEXT NULL,
    autotask_api_user TEXT NULL,
    autotask_integration_code TEXT NULL,
    autotask_secret TEXT NULL,
    launch_secret TEXT NOT NULL,
    launch_secret_rotated_at {TS} NOT NULL,
    levels_fetched_at {TS} NULL,
    updated_at {TS} NOT NULL,
    CHECK (provider <> 'autotask' OR (autotask_api_user IS NOT NULL
        AND autotask_integration_code IS NOT NULL AND autotask_secret IS NOT NULL))
);

CREATE TABLE tenant_settings (
    tenant_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES tenants (id),
    default_timezone TEXT NOT NULL DEFAULT 'UTC',
    invitation_expiry_days INTEGER NOT NULL DEFAULT 7
        CHECK (invitation_expiry_days BETWEEN 1 AND 30),
    session_lifetime_hours INTEGER NOT NULL DEFAULT 12
        CHECK (session_lifetime_hours BETWEEN 1 AND 168),
    updated_at {TS} NOT NULL,
    updated_by VARCHAR(36) NULL
);

CREATE TABLE accounting_mappings (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    position INTEGER NOT NULL,
    source_code TEXT NOT NULL,
    account_code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, source_code)
);

CREATE TABLE security_levels (
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    hub_menu BOOLEAN NOT NULL,
    qbo_extension_admin BOOLEAN NOT NULL,
    other_extensions_admin BOOLEAN NOT NULL,
    resource_impersonation BOOLEAN NOT NULL,
    fetched_at {TS} NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE users (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    psa_resource_id BIGINT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    user_name TEXT NOT NULL,
    resource_active BOOLEAN NOT NULL,
    security_level_id BIGINT NOT NULL,
    security_level_name TEXT {COLLATE_C} NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    elevation TEXT NOT NULL DEFAULT 'inherit'
        CHECK (elevation IN ('inherit', 'granted', 'revoked')),
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    access_rank INTEGER NOT NULL DEFAULT 0 CHECK (access_rank BETWEEN 0 AND 2),
    access_source TEXT NOT NULL DEFAULT 'level_not_eligible',
    name_key TEXT {COLLATE_C} NOT NULL,
    first_sign_in_at {TS} NOT NULL,
    last_accessed_at {TS} NOT NULL,
    snapshot_refreshed_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    UNIQUE (tenant_id, psa_resource_id),
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX ux_users_primary ON users (tenant_id) WHERE is_primary = TRUE;
CREATE INDEX ix_users_email ON users (tenant_id, email_key);
CREATE INDEX ix_users_name ON users (tenant_id, name_key, id);
CREATE INDEX ix_users_level ON users (tenant_id, security_level_name, id);
CREATE INDEX ix_users_access ON users (tenant_id, access_rank, id);
CREATE INDEX ix_users_last_accessed ON users (tenant_id, last_accessed_at, id);

CREATE TABLE elevated_levels (
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    level_id BIGINT NOT NULL,
    saved_by VARCHAR(36) NULL,
    saved_at {TS} NOT NULL,
    PRIMARY KEY (tenant_id, level_id)
);

CREATE TABLE sessions (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    created_at {TS} NOT NULL,
    expires_at {TS} NOT NULL,
    last_refreshed_at {TS} NOT NULL,
    revoked_at {TS} NULL,
    revoked_reason TEXT NULL,
    ip TEXT NULL,
    user_agent TEXT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX ix_sessions_user ON sessions (user_id, revoked_at);

CREATE TABLE refresh_tokens (
    token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    session_id VARCHAR(36) NOT NULL REFERENCES sessions (id),
    issued_at {TS} NOT NULL,
    used_at {TS} NULL
);
CREATE INDEX ix_refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE launch_assertions (
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    jti TEXT NOT NULL,
    expires_at {TS} NOT NULL,
    used_at {TS} NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);
CREATE INDEX ix_launch_assertions_expiry ON launch_assertions (expires_at);

CREATE TABLE api_tokens (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    user_id VARCHAR(36) NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'read_write', 'engine')),
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at {TS} NOT NULL,
    expires_at {TS} NULL,
    last_used_at {TS} NULL,
    revoked_at {TS} NULL,
    revoked_by VARCHAR(36) NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    CHECK ((scope = 'engine' AND user_id IS NULL) OR (scope <> 'engine' AND user_id IS NOT NULL))
);
CREATE INDEX ix_api_tokens_user ON api_tokens (tenant_id, user_id);

CREATE TABLE connection_groups (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_at {TS} NOT NULL,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

{CONNECTIONS_AND_ROLES}

CREATE TABLE connection_endpoints (
    connection_id VARCHAR(36) NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('source', 'target')),
    tenant_id VARCHAR(36) NOT NULL,
    system TEXT NOT NULL,
    account_label TEXT NULL,
    status TEXT NOT NULL CHECK (status IN ('connected', 'disconnected')),
    changed_at {TS} NOT NULL,
    changed_by VARCHAR(36) NULL,
    PRIMARY KEY (connection_id, side),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);

CREATE TABLE payments (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL,
    connection_id VARCHAR(36) NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    currency TEXT NOT NULL,
    months INTEGER NOT NULL CHECK (months > 0),
    paid_through_before {DATE} NULL,
    paid_through_after {DATE} NOT NULL,
    paid_by VARCHAR(36) NOT NULL,
    paid_at {TS} NOT NULL,
    provider_reference TEXT NULL,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE INDEX ix_payments_connection ON payments (connection_id, paid_at);

CREATE TABLE connection_views (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL,
    connection_id VARCHAR(36) NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_by VARCHAR(36) NOT NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    UNIQUE (connection_id, name),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);

CREATE TABLE invitations (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL,
    connection_id VARCHAR(36) NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'business_admin', 'it_admin', 'read_only')),
    retain_role TEXT NULL CHECK (retain_role IN ('business_admin', 'it_admin', 'read_only')),
    invitee_user_id VARCHAR(36) NULL,
    invitee_email TEXT NULL,
    invitee_email_key TEXT NULL,
    invited_by VARCHAR(36) NOT NULL,
    created_at {TS} NOT NULL,
    expires_at {TS} NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    responded_at {TS} NULL,
    revoked_by VARCHAR(36) NULL,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id),
    FOREIGN KEY (tenant_id, invitee_user_id) REFERENCES users (tenant_id, id),
    CHECK (invitee_user_id IS NOT NULL OR invitee_email_key IS NOT NULL),
    CHECK (role = 'owner' OR retain_role IS NULL)
);
CREATE UNIQUE INDEX ux_invitations_pending_user ON invitations (connection_id, role, invitee_user_id)
    WHERE status = 'pending' AND invitee_user_id IS NOT NULL;
CREATE UNIQUE INDEX ux_invitations_pending_email ON invitations (connection_id, role, invitee_email_key)
    WHERE status = 'pending' AND invitee_email_key IS NOT NULL;
CREATE UNIQUE INDEX ux_invitations_pending_owner ON invitations (connection_id)
    WHERE status = 'pending' AND role = 'owner';
CREATE INDEX ix_invitations_invitee_user ON invitations (tenant_id, invitee_user_id, status);
CREATE INDEX ix_invitations_invitee_email ON invitations (tenant_id, invitee_email_key, status);

CREATE TABLE sync_runs (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL,
    connection_id VARCHAR(36) NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('manual', 'scheduled')),
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    entities TEXT NOT NULL DEFAULT '[]',
    requested_by VARCHAR(36) NULL,
    requested_at {TS} NOT NULL,
    started_at {TS} NULL,
    finished_at {TS} NULL,
    records_processed BIGINT NULL,
    error TEXT NULL,
    details TEXT NULL,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    hidden_by VARCHAR(36) NULL,
    hidden_at {TS} NULL,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE INDEX ix_sync_runs_connection ON sync_runs (connection_id, requested_at);

CREATE TABLE activity_log (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    at {TS} NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_token', 'engine', 'system')),
    actor_user_id VARCHAR(36) NULL,
    actor_token_id VARCHAR(36) NULL,
    actor_label TEXT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NULL,
    target_label TEXT NULL,
    connection_id VARCHAR(36) NULL,
    details TEXT NOT NULL DEFAULT '{}',
    request_id TEXT NULL,
    ip TEXT NULL,
    user_agent TEXT NULL
);
CREATE INDEX ix_activity_log_at ON activity_log (tenant_id, at, id);
CREATE INDEX ix_activity_log_connection ON activity_log (tenant_id, connection_id, at);
CREATE INDEX ix_activity_log_actor ON activity_log (tenant_id, actor_user_id, at);
CREATE INDEX ix_activity_log_action ON activity_log (tenant_id, action, at);

CREATE TABLE rate_limits (
    bucket TEXT NOT NULL PRIMARY KEY,
    window_start {TS} NOT NULL,
    hits INTEGER NOT NULL
);

{APPEND_ONLY}
"#;

const ROLE_ASSIGNMENTS: &str = r#"
CREATE TABLE role_assignments (
    connection_id VARCHAR(36) NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'business_admin', 'it_admin', 'read_only')),
    tenant_id VARCHAR(36) NOT NULL,
    granted_by VARCHAR(36) NULL,
    granted_at {TS} NOT NULL,
    PRIMARY KEY (connection_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id){ROLE_TO_CONNECTION}
);
CREATE UNIQUE INDEX ux_role_assignments_owner ON role_assignments (connection_id)
    WHERE role = 'owner';
CREATE INDEX ix_role_assignments_user ON role_assignments (tenant_id, user_id);
"#;

const ROLE_TO_CONNECTION: &str = ",
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)";

const CONNECTIONS: &str = r#"
CREATE TABLE connections (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    tenant_id VARCHAR(36) NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN
        ('autotask_quickbooks', 'autotask_xero', 'xero_power_bi', 'quickbooks_power_bi')),
    timezone TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    owner_user_id VARCHAR(36) NOT NULL,
    owner_role TEXT NOT NULL DEFAULT 'owner' CHECK (owner_role = 'owner'),
    group_id VARCHAR(36) NULL,
    paid_through {DATE} NULL,
    locked_period_export BOOLEAN NULL,
    reporting_currency TEXT NULL,
    forecast_budget_id TEXT NULL,
    forecast_budget_name TEXT NULL,
    postgres_db TEXT NULL,
    created_by VARCHAR(36) NULL,
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    cancelled_at {TS} NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES connection_groups (tenant_id, id),
    FOREIGN KEY (id, owner_user_id, owner_role)
        REFERENCES role_assignments (connection_id, user_id, role)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ix_connections_tenant ON connections (tenant_id, name);
"#;

const SQLITE_APPEND_ONLY: &str = r#"
CREATE TRIGGER activity_log_no_update BEFORE UPDATE ON activity_log
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TRIGGER activity_log_no_delete BEFORE DELETE ON activity_log
BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
"#;

const POSTGRES_APPEND_ONLY: &str = r#"
CREATE FUNCTION activity_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the activity log is append-only'; END; $$;
CREATE TRIGGER activity_log_no_update BEFORE UPDATE OR DELETE ON activity_log
FOR EACH ROW EXECUTE FUNCTION activity_log_append_only();
"#;

/// The schema text for one backend.
fn schema(backend: DbBackend) -> String {
    // Sort keys compare byte by byte on both backends (SQLite's BINARY collation), whatever
    // the PostgreSQL database's locale, so pages and orders are the same everywhere.
    let (ts, date, collate_c) = match backend {
        DbBackend::Postgres => ("TIMESTAMPTZ", "DATE", "COLLATE \"C\""),
        _ => ("TEXT", "TEXT", ""),
    };
    let connections_and_roles = match backend {
        // PostgreSQL checks that a referenced table exists when a foreign key is declared,
        // so the circle is closed afterwards with ALTER TABLE.
        DbBackend::Postgres => format!(
            "{}\n{}\nALTER TABLE role_assignments ADD CONSTRAINT fk_role_assignments_connection \
             FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id);",
            ROLE_ASSIGNMENTS.replace("{ROLE_TO_CONNECTION}", ""),
            CONNECTIONS
        ),
        // SQLite resolves foreign keys when they are used, and cannot add one later.
        _ => format!(
            "{}\n{}",
            ROLE_ASSIGNMENTS.replace("{ROLE_TO_CONNECTION}", ROLE_TO_CONNECTION),
            CONNECTIONS
        ),
    };
    let append_only = match backend {
        DbBackend::Postgres => POSTGRES_APPEND_ONLY,
        _ => SQLITE_APPEND_ONLY,
    };
    SCHEMA
        .replace("{CONNECTIONS_AND_ROLES}", &connections_and_roles)
        .replace("{APPEND_ONLY}", append_only)
        .replace("{TS}", ts)
        .replace("{DATE}", date)
        .replace("{COLLATE_C}", collate_c)
}

/// Splits the schema into statements. Statements end with `;` at the end of a line, except
/// inside a trigger body (`BEGIN … END;` / `$$ … $$;`), which ends at `END;` or `$$;`.
fn statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_body = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() && current.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.contains("BEGIN") || trimmed.ends_with("AS $$") {
            in_body = true;
        }
        let ends_body = trimmed.ends_with("END;") || trimmed.ends_with("$$;");
        if (in_body && ends_body) || (!in_body && trimmed.ends_with(';')) {
            in_body = false;
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in statements(&schema(manager.get_database_backend())) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drops = [
            "rate_limits",
            "activity_log",
            "sync_runs",
            "invitations",
            "connection_views",
            "payments",
            "connection_endpoints",
            "role_assignments",
            "connections",
            "connection_groups",
            "api_tokens",
            "launch_assertions",
            "refresh_tokens",
            "sessions",
            "elevated_levels",
            "users",
            "security_levels",
            "accounting_mappings",
            "tenant_settings",
            "psa_settings",
        ];
        let cascade = if manager.get_database_backend() == DbBackend::Postgres {
            " CASCADE"
        } else {
            ""
        };
        for table in drops {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}{cascade}"))
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS activity_log_append_only()")
                .await?;
        }
        db.execute_unprepared("DROP INDEX IF EXISTS ux_tenants_demo")
            .await?;
        db.execute_unprepared("ALTER TABLE tenants DROP COLUMN is_demo")
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_complete_on_both_backends() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let text = schema(backend);
            for placeholder in [
                "{TS}",
                "{DATE}",
                "{COLLATE_C}",
                "{CONNECTIONS_AND_ROLES}",
                "{APPEND_ONLY}",
            ] {
                assert!(!text.contains(placeholder), "{placeholder} left");
            }
            let statements = statements(&text);
            assert!(statements.len() > 30, "{}", statements.len());
            for s in statements {
                let s = s.trim();
                assert!(s.ends_with(';'), "unterminated: {s}");
            }
        }
    }
}
