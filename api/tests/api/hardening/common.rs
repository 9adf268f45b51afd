//! What the hardening families share: the summary line and database snapshots.

use std::collections::BTreeMap;

use sea_orm::{FromQueryResult as _, JsonValue, Statement};

use crate::helpers::{Backend, TestApp};

/// Prints a family's summary line: `hardening summary | <family> | <backend> | <counts> |
/// <failures> failures`. Call it before asserting that `failures` is zero, so that the log
/// shows the counts either way.
pub fn summary(family: &str, backend: &Backend, counts: &str, failures: usize) {
    println!(
        "hardening summary | {family} | {} | {counts} | {failures} failures",
        backend.name()
    );
}

/// Rows per table, as sorted JSON text.
pub type Snapshot = BTreeMap<String, Vec<String>>;

pub async fn rows(app: &TestApp, sql: String) -> Vec<JsonValue> {
    JsonValue::find_by_statement(Statement::from_string(app.db.get_database_backend(), sql))
        .all(&app.db)
        .await
        .unwrap()
}

/// Every row of every table in the schema (read from the catalog, so a new table is
/// covered), minus what merely reading or signing in touches: `rate_limits` (refused
/// sign-ins count there by design), the migration bookkeeping, a token's `last_used_at`
/// (written at most once a minute by design) and the level cache's `fetched_at`. Equal
/// snapshots mean a request changed nothing, not even a timestamp.
///
/// With `connection`, tables with a `connection_id` (and `connections` itself) hold only
/// that connection's rows plus the table's row count, so the snapshot stays cheap however
/// many connections earlier cells made.
pub async fn snapshot(app: &TestApp, connection: Option<&str>) -> Snapshot {
    let (tables_sql, columns_sql) = if app.is_postgres() {
        (
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()",
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'",
        )
    } else {
        (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            "SELECT name FROM pragma_table_info('{table}')",
        )
    };
    let tables: Vec<String> = rows(app, tables_sql.to_owned())
        .await
        .into_iter()
        .filter_map(|row| row["name"].as_str().map(str::to_owned))
        // Meters, not state: a refused request may still count against a rate limit or the
        // PSA call budget; and the read cache's protocol (PostgreSQL: every request that may
        // write pings the instances, which renew their leases; issue 24).
        .filter(|t| {
            !matches!(
                t.as_str(),
                "rate_limits"
                    | "psa_call_budget"
                    | "seaql_migrations"
                    | "hubkeep_cache_epoch"
                    | "hubkeep_instances"
            )
        })
        .collect();
    assert!(
        tables.len() > 15,
        "the snapshot sees the schema: {tables:?}"
    );
    let mut snapshot = BTreeMap::new();
    for table in tables {
        let scope = match connection {
            Some(id) if table == "connections" => Some(format!("id = '{id}'")),
            Some(id) => {
                let columns = rows(app, columns_sql.replace("{table}", &table)).await;
                columns
                    .iter()
                    .any(|c| c["name"] == "connection_id")
                    .then(|| format!("connection_id = '{id}'"))
            }
            None => None,
        };
        let select = match &scope {
            Some(filter) => format!("SELECT * FROM {table} WHERE {filter}"),
            None => format!("SELECT * FROM {table}"),
        };
        let mut texts: Vec<String> = rows(app, select)
            .await
            .into_iter()
            .map(|mut row| {
                if let Some(fields) = row.as_object_mut() {
                    fields.remove("last_used_at");
                    fields.remove("fetched_at");
                }
                row.to_string()
            })
            .collect();
        texts.sort();
        if scope.is_some() {
            let count = rows(app, format!("SELECT COUNT(*) AS n FROM {table}")).await;
            texts.push(format!("count {}", serde_json::Value::Array(count)));
        }
        snapshot.insert(table, texts);
    }
    snapshot
}

/// The tables whose rows differ between two snapshots.
pub fn changed_tables(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    after
        .iter()
        .filter(|(table, rows)| before.get(*table) != Some(rows))
        .map(|(table, _)| table.clone())
        .collect()
}

/// `Some("the database changed: …")` naming each changed table with its row counts.
pub fn snapshot_diff(before: &Snapshot, after: &Snapshot) -> Option<String> {
    let changed: Vec<String> = changed_tables(before, after)
        .into_iter()
        .map(|table| {
            format!(
                "{table} ({} → {} rows)",
                before.get(&table).map_or(0, Vec::len),
                after.get(&table).map_or(0, Vec::len)
            )
        })
        .collect();
    (!changed.is_empty()).then(|| format!("the database changed: {}", changed.join(", ")))
}
