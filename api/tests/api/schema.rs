//! Invariants the schema itself enforces (SPEC S10, S7), whatever the code does: each is
//! tried with raw SQL against the real migrations on each backend.

use sea_orm::{ConnectionTrait, DbErr, Statement, TransactionTrait};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_each_backend;

on_each_backend!(
    s10_one_primary_user_per_tenant,
    s10_one_hub_user_per_tenant_and_resource,
    s10_a_connection_is_created_with_exactly_one_owner,
    s10_a_launch_jti_is_single_use,
    s7_the_activity_log_is_append_only,
);

async fn exec(db: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map(|_| ())
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
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    exec(&app.db, &user_sql(&t, "u1", 1, true)).await.unwrap();
    assert!(exec(&app.db, &user_sql(&t, "u2", 2, true)).await.is_err());
    exec(&app.db, &user_sql(&t, "u3", 3, false)).await.unwrap();
    // Another tenant has its own primary.
    let other = tenant(&app).await;
    exec(&app.db, &user_sql(&other, "u4", 1, true))
        .await
        .unwrap();
}

async fn s10_one_hub_user_per_tenant_and_resource(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    exec(&app.db, &user_sql(&t, "u1", 42, false)).await.unwrap();
    assert!(exec(&app.db, &user_sql(&t, "u2", 42, false)).await.is_err());
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
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    exec(&app.db, &user_sql(&t, "u1", 1, true)).await.unwrap();
    exec(&app.db, &user_sql(&t, "u2", 2, false)).await.unwrap();

    // Without its owner's role row, the connection cannot commit.
    let txn = app.db.begin().await.unwrap();
    let inserted = exec(&txn, &connection_sql("c0", &t, "u1")).await;
    let committed = match inserted {
        Ok(()) => txn.commit().await,
        Err(e) => Err(e),
    };
    assert!(committed.is_err(), "a connection without an owner");
    assert_eq!(app.count("connections").await, 0);

    // With it, in one transaction, it can.
    let txn = app.db.begin().await.unwrap();
    exec(&txn, &connection_sql("c1", &t, "u1")).await.unwrap();
    exec(&txn, &role_sql("c1", &t, "u1", "owner"))
        .await
        .unwrap();
    txn.commit().await.unwrap();

    // A second owner is refused at once.
    assert!(
        exec(&app.db, &role_sql("c1", &t, "u2", "owner"))
            .await
            .is_err()
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
    let committed = match deleted {
        Ok(()) => txn.commit().await,
        Err(e) => Err(e),
    };
    assert!(committed.is_err(), "an ownerless connection");
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
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let sql = format!(
        "INSERT INTO launch_assertions (tenant_id, jti, expires_at, used_at) \
         VALUES ('{t}', 'j1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    );
    exec(&app.db, &sql).await.unwrap();
    assert!(exec(&app.db, &sql).await.is_err());
}

async fn s7_the_activity_log_is_append_only(backend: Backend) {
    let app = spawn_app(backend).await;
    tenant(&app).await;
    assert_eq!(app.count("activity_log").await, 1, "tenant.created");
    assert!(
        exec(&app.db, "UPDATE activity_log SET action = 'forged'")
            .await
            .is_err()
    );
    assert!(exec(&app.db, "DELETE FROM activity_log").await.is_err());
    assert_eq!(app.count("activity_log").await, 1);
}
