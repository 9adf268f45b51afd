//! Invariants the schema itself enforces (SPEC S10, S7), whatever the code does: each is
//! tried with raw SQL against the real migrations on each backend.

use sea_orm::{ConnectionTrait, DbErr, SqlErr, Statement, TransactionTrait};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_each_backend;

on_each_backend!(
    s10_one_primary_user_per_tenant,
    s10_one_hub_user_per_tenant_and_resource,
    s10_a_connection_is_created_with_exactly_one_owner,
    s10_a_launch_jti_is_single_use,
    s7_the_activity_log_is_append_only,
    s10_each_race_the_schema_arbitrates_is_recognised_by_its_constraint,
);

async fn exec(db: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map(|_| ())
}

/// Which constraint must refuse a statement: its kind, and how each backend names it (SQLite
/// names the columns of a unique key, PostgreSQL the constraint or index; a trigger speaks
/// its own message). A refusal by any other constraint fails the test.
#[derive(Debug, Clone, Copy)]
enum Constraint {
    Unique {
        sqlite: &'static str,
        postgres: &'static str,
    },
    ForeignKey {
        postgres: &'static str,
    },
    Trigger(&'static str),
}

const PRIMARY_USER: Constraint = Constraint::Unique {
    sqlite: "UNIQUE constraint failed: users.tenant_id",
    postgres: "\"ux_users_primary\"",
};
const USER_PER_RESOURCE: Constraint = Constraint::Unique {
    sqlite: "UNIQUE constraint failed: users.tenant_id, users.psa_resource_id",
    postgres: "\"users_tenant_id_psa_resource_id_key\"",
};
const ONE_OWNER: Constraint = Constraint::Unique {
    sqlite: "UNIQUE constraint failed: role_assignments.connection_id",
    postgres: "\"ux_role_assignments_owner\"",
};
const OWNER_ROLE_EXISTS: Constraint = Constraint::ForeignKey {
    postgres: "\"connections_id_owner_user_id_owner_role_fkey\"",
};
const JTI_ONCE: Constraint = Constraint::Unique {
    sqlite: "UNIQUE constraint failed: launch_assertions.tenant_id, launch_assertions.jti",
    postgres: "\"launch_assertions_pkey\"",
};
const APPEND_ONLY: Constraint = Constraint::Trigger("the activity log is append-only");

/// Asserts that `result` is the refusal of exactly `constraint`.
#[track_caller]
fn assert_refused_by(backend: &Backend, result: Result<(), DbErr>, constraint: Constraint) {
    let err = match result {
        Ok(()) => panic!("expected a refusal by {constraint:?}, the statement succeeded"),
        Err(err) => err,
    };
    let message = err.to_string();
    let postgres = matches!(backend, Backend::Postgres(_));
    let (kind_ok, needle) = match constraint {
        Constraint::Unique {
            sqlite,
            postgres: pg,
        } => (
            matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
            if postgres { pg } else { sqlite },
        ),
        // SQLite does not name the foreign key that failed; only PostgreSQL's refusal is
        // pinned to the constraint's name (the kind is checked on both).
        Constraint::ForeignKey { postgres: pg } => (
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            if postgres {
                pg
            } else {
                "FOREIGN KEY constraint failed"
            },
        ),
        Constraint::Trigger(text) => (true, text),
    };
    assert!(
        kind_ok && message.contains(needle),
        "expected a refusal by {constraint:?} (`{needle}`) on {}, got: {message}",
        backend.name()
    );
}

/// Commits `txn` after `statement`, or returns the statement's error.
async fn commit_after(
    txn: sea_orm::DatabaseTransaction,
    statement: Result<(), DbErr>,
) -> Result<(), DbErr> {
    statement?;
    txn.commit().await
}

async fn tenant(app: &TestApp) -> String {
    app.tenant().await.id
}

fn user_sql(tenant: &str, id: &str, resource: i64, primary: bool) -> String {
    format!(
        "INSERT INTO users (id, tenant_id, psa_resource_id, first_name, last_name, display_name, \
         email, email_key, user_name, resource_active, security_level_id, security_level_name, \
         active, elevation, is_primary, name_key, first_sign_in_at, last_accessed_at, \
         snapshot_refreshed_at, updated_at) VALUES ('{id}', '{tenant}', {resource}, 'A', 'B', \
         'A B', 'a@b.test', 'a@b.test', 'ab', TRUE, 1, 'Administrator', TRUE, 'inherit', \
         {primary}, 'a b', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        primary = if primary { "TRUE" } else { "FALSE" }
    )
}

async fn s10_one_primary_user_per_tenant(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let t = tenant(&app).await;
    exec(&app.db, &user_sql(&t, "u1", 1, true)).await.unwrap();
    assert_refused_by(
        &backend,
        exec(&app.db, &user_sql(&t, "u2", 2, true)).await,
        PRIMARY_USER,
    );
    exec(&app.db, &user_sql(&t, "u3", 3, false)).await.unwrap();
    // Another tenant has its own primary.
    let other = tenant(&app).await;
    exec(&app.db, &user_sql(&other, "u4", 1, true))
        .await
        .unwrap();
}

async fn s10_one_hub_user_per_tenant_and_resource(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let t = tenant(&app).await;
    exec(&app.db, &user_sql(&t, "u1", 42, false)).await.unwrap();
    assert_refused_by(
        &backend,
        exec(&app.db, &user_sql(&t, "u2", 42, false)).await,
        USER_PER_RESOURCE,
    );
}

fn connection_sql(id: &str, tenant: &str, owner: &str) -> String {
    format!(
        "INSERT INTO connections (id, tenant_id, name, kind, timezone, owner_user_id, \
         created_at, updated_at) VALUES ('{id}', '{tenant}', 'Books', 'autotask_xero', 'UTC', \
         '{owner}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
}

fn role_sql(connection: &str, tenant: &str, user: &str, role: &str) -> String {
    format!(
        "INSERT INTO role_assignments (connection_id, user_id, role, tenant_id, granted_at) \
         VALUES ('{connection}', '{user}', '{role}', '{tenant}', CURRENT_TIMESTAMP)"
    )
}

async fn s10_a_connection_is_created_with_exactly_one_owner(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let t = tenant(&app).await;
    exec(&app.db, &user_sql(&t, "u1", 1, true)).await.unwrap();
    exec(&app.db, &user_sql(&t, "u2", 2, false)).await.unwrap();

    // Without its owner's role row, the connection cannot commit.
    let txn = app.db.begin().await.unwrap();
    let inserted = exec(&txn, &connection_sql("c0", &t, "u1")).await;
    assert_refused_by(
        &backend,
        commit_after(txn, inserted).await,
        OWNER_ROLE_EXISTS,
    );
    assert_eq!(app.count("connections").await, 0);

    // With it, in one transaction, it can.
    let txn = app.db.begin().await.unwrap();
    exec(&txn, &connection_sql("c1", &t, "u1")).await.unwrap();
    exec(&txn, &role_sql("c1", &t, "u1", "owner"))
        .await
        .unwrap();
    txn.commit().await.unwrap();

    // A second owner is refused at once.
    assert_refused_by(
        &backend,
        exec(&app.db, &role_sql("c1", &t, "u2", "owner")).await,
        ONE_OWNER,
    );
    exec(&app.db, &role_sql("c1", &t, "u2", "it_admin"))
        .await
        .unwrap();

    // Removing the owner without a replacement cannot commit.
    let txn = app.db.begin().await.unwrap();
    let deleted = exec(
        &txn,
        "DELETE FROM role_assignments WHERE connection_id = 'c1' AND role = 'owner'",
    )
    .await;
    assert_refused_by(
        &backend,
        commit_after(txn, deleted).await,
        OWNER_ROLE_EXISTS,
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM role_assignments WHERE role = 'owner'")
            .await,
        1
    );

    // Moving the owner role and the connection's owner together is a transfer.
    let txn = app.db.begin().await.unwrap();
    exec(
        &txn,
        "UPDATE role_assignments SET user_id = 'u2' WHERE connection_id = 'c1' AND role = 'owner'",
    )
    .await
    .unwrap();
    exec(
        &txn,
        "UPDATE connections SET owner_user_id = 'u2' WHERE id = 'c1'",
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn s10_a_launch_jti_is_single_use(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let t = tenant(&app).await;
    let sql = format!(
        "INSERT INTO launch_assertions (tenant_id, jti, expires_at, used_at) \
         VALUES ('{t}', 'j1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    );
    exec(&app.db, &sql).await.unwrap();
    assert_refused_by(&backend, exec(&app.db, &sql).await, JTI_ONCE);
}

async fn s7_the_activity_log_is_append_only(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    tenant(&app).await;
    assert_eq!(app.count("activity_log").await, 1, "tenant.created");
    assert_refused_by(
        &backend,
        exec(&app.db, "UPDATE activity_log SET action = 'forged'").await,
        APPEND_ONLY,
    );
    assert_refused_by(
        &backend,
        exec(&app.db, "DELETE FROM activity_log").await,
        APPEND_ONLY,
    );
    assert_eq!(app.count("activity_log").await, 1);
}

/// The handlers map a unique violation to an answer only when it is the constraint they
/// expect (`hubkeep_api::db::violates`); this pins how each backend names every one of them.
async fn s10_each_race_the_schema_arbitrates_is_recognised_by_its_constraint(backend: Backend) {
    use hubkeep_api::db::{Unique, violated};
    use strum::VariantArray as _;

    let app = spawn_app(backend.clone()).await;
    let t = tenant(&app).await;
    let ts = "CURRENT_TIMESTAMP";
    exec(&app.db, &user_sql(&t, "u1", 1, true)).await.unwrap();
    let txn = app.db.begin().await.unwrap();
    exec(&txn, &connection_sql("c1", &t, "u1")).await.unwrap();
    exec(&txn, &role_sql("c1", &t, "u1", "owner"))
        .await
        .unwrap();
    txn.commit().await.unwrap();

    let invitation = |id: &str, role: &str, user: &str, email: &str| {
        format!(
            "INSERT INTO invitations (id, tenant_id, connection_id, role, invitee_user_id, \
             invitee_email, invitee_email_key, invited_by, created_at, expires_at) VALUES \
             ('{id}', '{t}', 'c1', '{role}', {user}, {email}, {email}, 'u1', {ts}, {ts})"
        )
    };
    let cases: Vec<(Unique, String)> = vec![
        (
            Unique::TenantPsaId,
            format!(
                "INSERT INTO tenants (id, name, psa_id, created_at) \
                 SELECT 'copy', name, psa_id, created_at FROM tenants WHERE id = '{t}'"
            ),
        ),
        (
            Unique::TenantSlug,
            format!(
                "INSERT INTO tenants (id, name, psa_id, slug, created_at) \
                 SELECT 'copy2', name, 'another-psa', slug, created_at FROM tenants \
                 WHERE id = '{t}'"
            ),
        ),
        (Unique::PrimaryUser, user_sql(&t, "u2", 2, true)),
        (Unique::UserPerResource, user_sql(&t, "u3", 1, false)),
        (
            Unique::LaunchJti,
            format!(
                "INSERT INTO launch_assertions (tenant_id, jti, expires_at, used_at) \
                 VALUES ('{t}', 'j1', {ts}, {ts})"
            ),
        ),
        (
            Unique::PendingInvitationForUser,
            invitation("i1", "it_admin", "'u1'", "NULL"),
        ),
        (
            Unique::PendingInvitationForEmail,
            invitation("i2", "read_only", "NULL", "'a@b.test'"),
        ),
        (
            Unique::PendingOwnerTransfer,
            invitation("i3", "owner", "NULL", "'o@b.test'"),
        ),
        (
            Unique::ViewName,
            format!(
                "INSERT INTO connection_views (id, tenant_id, connection_id, name, definition, \
                 created_by, created_at, updated_at) VALUES ('v1', '{t}', 'c1', 'Revenue', \
                 '{{}}', 'u1', {ts}, {ts})"
            ),
        ),
        (
            Unique::MappingSourceCode,
            format!(
                "INSERT INTO accounting_mappings (id, tenant_id, position, source_code, \
                 account_code) VALUES ('m1', '{t}', 0, 'SALES', '4000')"
            ),
        ),
    ];
    assert_eq!(
        cases.len(),
        Unique::VARIANTS.len(),
        "every constraint is tried"
    );
    for (constraint, sql) in cases {
        // The first row is the one the race's winner wrote (the tenant and the primary user
        // exist already); the same statement again is the loser's.
        if !matches!(
            constraint,
            Unique::TenantPsaId
                | Unique::TenantSlug
                | Unique::PrimaryUser
                | Unique::UserPerResource
        ) {
            exec(&app.db, &sql).await.unwrap();
        }
        // Another row that collides only on this constraint.
        let again = sql
            .replace("'o@b.test'", "'p@b.test'")
            .replace("('i1'", "('i1b'")
            .replace("('i2'", "('i2b'")
            .replace("('i3'", "('i3b'")
            .replace("('v1'", "('v1b'")
            .replace("('m1'", "('m1b'");
        let err = exec(&app.db, &again)
            .await
            .expect_err(&format!("{constraint:?}: the second row is refused"));
        assert_eq!(
            violated(&err),
            Some(constraint),
            "{constraint:?} on {}: {err}",
            backend.name()
        );
    }
}

/// Issue 24: on PostgreSQL every table of the schema either notifies the read caches of every
/// instance when it changes, or is named as one no cached read looks at — so a table added
/// later cannot be forgotten; the tables the cached reads do look at are all watched; and an
/// API token's `last_used_at` alone does not notify (it changes nothing a decision reads).
#[tokio::test]
#[cfg_attr(
    not(hubkeep_test_postgres),
    ignore = "HUBKEEP_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped"
)]
async fn issue_24_every_table_notifies_the_caches_or_is_named_unwatched() {
    use hubkeep_migrations::m20261206_000001_create_cache_notifications::{TRIGGER, UNWATCHED};
    use sea_orm::sqlx::postgres::PgListener;

    let app = spawn_app(Backend::postgres_required()).await;
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT t.table_name::text AS name, EXISTS (SELECT 1 FROM pg_trigger g \
                 JOIN pg_class c ON c.oid = g.tgrelid WHERE c.relname = t.table_name \
                 AND g.tgname = '{TRIGGER}') AS watched \
                 FROM information_schema.tables t WHERE t.table_schema = current_schema() \
                 AND t.table_type = 'BASE TABLE' ORDER BY 1"
            ),
        ))
        .await
        .unwrap();
    assert!(rows.len() > 20, "the schema has its tables");
    for row in &rows {
        let name: String = row.try_get("", "name").unwrap();
        let watched: bool = row.try_get("", "watched").unwrap();
        assert!(
            watched != UNWATCHED.contains(&name.as_str()),
            "{name}: watched = {watched}; every table is watched or listed in UNWATCHED"
        );
    }
    for read in [
        "sessions",
        "api_tokens",
        "users",
        "security_levels",
        "elevated_levels",
        "invitations",
        "connections",
        "connection_groups",
        "connection_endpoints",
        "role_assignments",
    ] {
        assert!(!UNWATCHED.contains(&read), "{read} is read by the cache");
    }

    // What notifies, in commit order: a marker sent after `last_used_at` alone comes first.
    let tenant = tenant(&app).await;
    let pool = app.db.get_postgres_connection_pool();
    let mut listener = PgListener::connect_with(pool).await.unwrap();
    listener.listen("hubkeep_cache").await.unwrap();
    let mut next = async || {
        loop {
            let n = listener.recv().await.unwrap();
            // Pings and heartbeats of the app's own instance pass by too.
            if !n.payload().starts_with('h') && !n.payload().starts_with('p') {
                return n.payload().to_owned();
            }
        }
    };
    exec(
        &app.db,
        &format!(
            "INSERT INTO api_tokens (id, tenant_id, user_id, name, scope, token_prefix, \
             token_hash, created_at) VALUES ('t1', '{tenant}', NULL, 'engine', 'engine', \
             'hk_0000000', 'hash-t1', now())"
        ),
    )
    .await
    .unwrap();
    assert_eq!(next().await, "c", "an insert notifies");
    exec(
        &app.db,
        "UPDATE api_tokens SET last_used_at = now() WHERE id = 't1'",
    )
    .await
    .unwrap();
    exec(&app.db, "SELECT pg_notify('hubkeep_cache', 'marker')")
        .await
        .unwrap();
    assert_eq!(next().await, "marker", "last_used_at alone does not notify");
    exec(
        &app.db,
        "UPDATE api_tokens SET revoked_at = now() WHERE id = 't1'",
    )
    .await
    .unwrap();
    assert_eq!(next().await, "c", "a revocation notifies");
}
