//! Reading the activity log (SPEC S7), on each backend.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hubkeep_shared::api::{ACTIVITY_CSV_COLUMNS, ActivityExportQuery, ActivityQuery, ExportFormat};
use reqwest::Method;
use sea_orm::{ConnectionTrait as _, DbBackend, Statement, TransactionTrait as _};
use serde_json::{Value, json};

use crate::client::all_pages;
use crate::helpers::{Backend, TestApp, TestTenant, assert_problem, id, people::*, spawn_app};
use crate::on_each_backend;

on_each_backend!(
    s7_elevated_users_read_every_entry_of_their_tenant,
    s7_limited_users_read_their_own_and_their_connections_entries,
    s7_entries_survive_the_deactivation_of_their_actor,
    s7_activity_pages_cover_every_entry_once,
    s7_filters,
    s7_another_tenants_entry_is_not_found,
    s16_the_activity_export_holds_what_the_list_holds_for_the_same_filters,
    s16_a_limited_users_export_holds_only_what_they_may_read,
    s16_csv_cells_a_spreadsheet_would_run_start_with_a_quote,
    s16_bad_export_requests_are_problems_before_any_byte,
);

/// An activity row written straight into the table, as any writer would leave it.
#[derive(Debug, Clone)]
struct Raw<'a> {
    id: String,
    tenant: &'a str,
    at: DateTime<Utc>,
    actor_user_id: Option<&'a str>,
    action: &'a str,
    target_kind: &'a str,
    target_id: Option<&'a str>,
    connection_id: Option<&'a str>,
    label: &'a str,
}

impl<'a> Raw<'a> {
    fn new(tenant: &'a str, at: DateTime<Utc>, action: &'a str) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            tenant,
            at,
            actor_user_id: None,
            action,
            target_kind: "tenant",
            target_id: Some(tenant),
            connection_id: None,
            label: "someone",
        }
    }
}

async fn insert(app: &TestApp, raw: &Raw<'_>) {
    let backend = app.db.get_database_backend();
    let placeholders: Vec<String> = (1..=13)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        })
        .collect();
    let sql = format!(
        "INSERT INTO activity_log (id, tenant_id, at, actor_kind, actor_user_id, actor_token_id, \
         actor_label, action, target_kind, target_id, connection_id, details, ip) VALUES ({})",
        placeholders.join(", ")
    );
    let kind = if raw.actor_user_id.is_some() {
        "user"
    } else {
        "system"
    };
    let values: Vec<sea_orm::Value> = vec![
        raw.id.clone().into(),
        raw.tenant.to_owned().into(),
        raw.at.into(),
        kind.into(),
        raw.actor_user_id.map(str::to_owned).into(),
        Option::<String>::None.into(),
        Some(raw.label.to_owned()).into(),
        raw.action.into(),
        raw.target_kind.into(),
        raw.target_id.map(str::to_owned).into(),
        raw.connection_id.map(str::to_owned).into(),
        json!({ "n": 1 }).to_string().into(),
        Some("192.0.2.7".to_owned()).into(),
    ];
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
}

async fn exec(db: &impl sea_orm::ConnectionTrait, sql: &str) {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

/// A connection owned by `owner` (owner role in the same transaction, as the schema wants),
/// with `others` holding a role on it.
async fn connection(app: &TestApp, tenant: &str, id: &str, owner: &str, others: &[&str]) {
    let txn = app.db.begin().await.unwrap();
    exec(
        &txn,
        &format!(
            "INSERT INTO connections (id, tenant_id, name, kind, timezone, owner_user_id, \
             created_at, updated_at) VALUES ('{id}', '{tenant}', 'Books {id}', 'autotask_xero', \
             'UTC', '{owner}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
    )
    .await;
    let mut roles = vec![(owner, "owner")];
    roles.extend(others.iter().map(|u| (*u, "read_only")));
    for (user, role) in roles {
        exec(
            &txn,
            &format!(
                "INSERT INTO role_assignments (connection_id, user_id, role, tenant_id, \
                 granted_at) VALUES ('{id}', '{user}', '{role}', '{tenant}', CURRENT_TIMESTAMP)"
            ),
        )
        .await;
    }
    txn.commit().await.unwrap();
}

/// Asserts a listing is newest first (ties by id); answers it.
fn newest_first(items: Vec<Value>) -> Vec<Value> {
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|e| {
            let at = DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap();
            (
                at.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::Nanos, true),
                e["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first, ties by id");
    items
}

/// `GET /api/v1/activity` with nothing but paging.
fn everything() -> ActivityQuery {
    ActivityQuery::default()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn actions(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn tenant_ids(app: &TestApp, tenant: &TestTenant) -> BTreeSet<String> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT id FROM activity_log WHERE tenant_id = '{}'",
                tenant.id
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// No such operation: the router's 404 or 405, as a problem.
async fn assert_no_route(res: reqwest::Response) {
    let status = res.status().as_u16();
    let code = match status {
        404 => "not_found",
        405 => "method_not_allowed",
        other => panic!("status {other}"),
    };
    assert_problem(res, status, code).await;
}

fn set(xs: &[&Raw<'_>]) -> BTreeSet<String> {
    xs.iter().map(|r| r.id.clone()).collect()
}

async fn s7_elevated_users_read_every_entry_of_their_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    app.create_token(&tess.access_token, "read").await;
    // Another tenant's activity is never listed.
    let other = app.tenant().await;
    app.sign_in(&other, ADA_ADMIN).await;

    let items = newest_first(app.as_(&ada).all_activity(&everything(), 200).await);
    let listed: BTreeSet<String> = ids(&items).into_iter().collect();
    assert_eq!(listed.len(), items.len(), "no entry twice");
    assert_eq!(listed, tenant_ids(&app, &tenant).await);
    for action in ["tenant.created", "user.signed_in", "api_token.created"] {
        assert!(actions(&items).contains(action), "{action}");
    }

    // The shape of an entry.
    let created = items
        .iter()
        .find(|e| e["action"] == "api_token.created")
        .unwrap();
    for field in [
        "id",
        "at",
        "actor",
        "action",
        "target",
        "connection_id",
        "details",
        "request_id",
        "ip",
        "user_agent",
    ] {
        assert!(created.get(field).is_some(), "{field} in {created}");
    }
    assert_eq!(created["actor"]["kind"], "user");
    assert_eq!(created["actor"]["user_id"], tess.user["id"]);
    assert_eq!(created["actor"]["label"], "Tess Tech");
    assert_eq!(created["target"]["kind"], "api_token");
    assert!(created["target"]["id"].is_string());
    assert_eq!(created["details"]["scope"], "read");
    assert!(created["request_id"].is_string());
    assert!(
        created["ip"].is_string(),
        "elevated users see every address"
    );
    let system = items
        .iter()
        .find(|e| e["action"] == "tenant.created")
        .unwrap();
    assert_eq!(system["actor"]["kind"], "system");
    assert_eq!(system["actor"]["user_id"], Value::Null);
    assert_eq!(system["target"]["id"], json!(tenant.id));

    // One entry by id.
    let id = created["id"].as_str().unwrap();
    let one = app.as_(&ada).get_activity(id).await.expect_json(200).await;
    assert_eq!(&one, created);

    // Reading is not a change: it writes no entry.
    let count = app.count("activity_log").await;
    newest_first(app.as_(&ada).all_activity(&everything(), 50).await);
    assert_eq!(app.count("activity_log").await, count);
}

async fn s7_limited_users_read_their_own_and_their_connections_entries(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let t = tenant.id.as_str();
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let tom = app.sign_in(&tenant, TOM_TECH).await;
    let (ada_id, tess_id, tom_id) = (id(&ada), id(&tess), id(&tom));
    connection(&app, t, "c-shared", &ada_id, &[&tess_id]).await;
    connection(&app, t, "c-other", &ada_id, &[&tom_id]).await;
    let now = Utc::now();
    let mut shared = Raw::new(t, now, "connection.run_started");
    shared.actor_user_id = Some(&ada_id);
    shared.connection_id = Some("c-shared");
    let mut other = Raw::new(t, now, "connection.run_started");
    other.actor_user_id = Some(&ada_id);
    other.connection_id = Some("c-other");
    let mut toms = Raw::new(t, now, "api_token.created");
    toms.actor_user_id = Some(&tom_id);
    let mut engine = Raw::new(t, now, "connection.synced");
    engine.connection_id = Some("c-shared");
    for raw in [&shared, &other, &toms, &engine] {
        insert(&app, raw).await;
    }

    let items = newest_first(app.as_(&tess).all_activity(&everything(), 2).await);
    let listed: BTreeSet<String> = ids(&items).into_iter().collect();
    assert!(listed.contains(&shared.id), "an entry of her connection");
    assert!(
        listed.contains(&engine.id),
        "the hub's entry of her connection"
    );
    assert!(!listed.contains(&other.id), "not a connection of hers");
    assert!(!listed.contains(&toms.id), "not hers");
    for e in &items {
        let own = e["actor"]["user_id"] == json!(tess_id);
        let on_shared = e["connection_id"] == "c-shared";
        assert!(own || on_shared, "{e}");
    }
    assert!(
        items
            .iter()
            .any(|e| e["action"] == "user.signed_in" && e["actor"]["user_id"] == json!(tess_id)),
        "her own sign-in"
    );
    assert!(
        !items.iter().any(|e| e["action"] == "tenant.created"),
        "not the system's tenant entries"
    );

    // Someone else's address stays theirs; her own entries show hers.
    let as_tess = app.as_(&tess);
    let entry = as_tess.get_activity(&shared.id).await.json().await;
    assert_eq!(entry["connection_id"], "c-shared");
    assert_eq!(entry["ip"], Value::Null);
    assert_eq!(entry["user_agent"], Value::Null);
    let own = items
        .iter()
        .find(|e| e["actor"]["user_id"] == json!(tess_id))
        .unwrap();
    assert!(own["ip"].is_string());

    // Not visible is not found.
    for id in [&other.id, &toms.id] {
        as_tess
            .get_activity(id)
            .await
            .problem(404, "not_found")
            .await;
    }
    // Filters cannot widen what she sees.
    let page = as_tess
        .list_activity(&ActivityQuery {
            connection_id: Some("c-other".into()),
            ..everything()
        })
        .await
        .json()
        .await;
    assert_eq!(page["items"], json!([]));
    let page = as_tess
        .list_activity(&ActivityQuery {
            actor_user_id: Some(tom_id.clone()),
            ..everything()
        })
        .await
        .json()
        .await;
    assert_eq!(page["items"], json!([]));

    // Elevated users see all four; Tom sees his connection's and his own.
    let all = newest_first(app.as_(&ada).all_activity(&everything(), 200).await);
    let all: BTreeSet<String> = ids(&all).into_iter().collect();
    for raw in [&shared, &other, &toms, &engine] {
        assert!(all.contains(&raw.id));
    }
    let toms_view: BTreeSet<String> = ids(&newest_first(
        app.as_(&tom).all_activity(&everything(), 200).await,
    ))
    .into_iter()
    .collect();
    assert!(toms_view.contains(&other.id) && toms_view.contains(&toms.id));
    assert!(!toms_view.contains(&shared.id) && !toms_view.contains(&engine.id));

    // A role taken away takes the connection's entries with it.
    exec(
        &app.db,
        &format!(
            "DELETE FROM role_assignments WHERE connection_id = 'c-shared' AND user_id = '{tess_id}'"
        ),
    )
    .await;
    as_tess
        .get_activity(&shared.id)
        .await
        .problem(404, "not_found")
        .await;
}

async fn s7_entries_survive_the_deactivation_of_their_actor(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    app.create_token(&tess.access_token, "read").await;
    let tess_id = id(&tess);
    let query = ActivityQuery {
        actor_user_id: Some(tess_id.clone()),
        ..everything()
    };
    let as_ada = app.as_(&ada);
    let before = newest_first(as_ada.all_activity(&query, 50).await);
    assert!(
        actions(&before).contains("api_token.created")
            && actions(&before).contains("user.signed_in")
    );

    exec(
        &app.db,
        &format!("UPDATE users SET active = FALSE WHERE id = '{tess_id}'"),
    )
    .await;
    // She can no longer read anything …
    let res = app.as_(&tess).list_activity(&everything()).await;
    assert_eq!(res.status(), 401);
    // … and every entry of hers is still there, unchanged.
    let after = newest_first(as_ada.all_activity(&query, 50).await);
    assert_eq!(after, before);
    let id = before[0]["id"].as_str().unwrap();
    let entry = as_ada.get_activity(id).await.expect_json(200).await;
    assert_eq!(entry["actor"]["label"], "Tess Tech");
}

async fn s7_activity_pages_cover_every_entry_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    // Groups of entries at the same instant, so pages break inside ties.
    let base = Utc::now() - Duration::hours(1);
    let mut written = Vec::new();
    for i in 0..30_i64 {
        let at = base + Duration::milliseconds(i / 4 * 250) + Duration::microseconds(i / 4);
        let raw = Raw::new(&tenant.id, at, "test.paged");
        insert(&app, &raw).await;
        written.push(raw.id);
    }
    // Whole seconds are stored without a fraction on SQLite: they must still sort right.
    let whole = Raw::new(
        &tenant.id,
        DateTime::from_timestamp(base.timestamp() + 1, 0).unwrap(),
        "test.paged",
    );
    insert(&app, &whole).await;
    written.push(whole.id.clone());

    let expected = tenant_ids(&app, &tenant).await;
    let as_ada = app.as_(&ada);
    for limit in [1, 7, 31, 200] {
        let items = newest_first(as_ada.all_activity(&everything(), limit).await);
        let listed = ids(&items);
        let unique: BTreeSet<String> = listed.iter().cloned().collect();
        assert_eq!(unique.len(), listed.len(), "limit {limit}: an entry twice");
        assert_eq!(unique, expected, "limit {limit}");
    }
    let paged = newest_first(
        as_ada
            .all_activity(
                &ActivityQuery {
                    action: Some("test.paged".into()),
                    ..everything()
                },
                4,
            )
            .await,
    );
    assert_eq!(paged.len(), written.len());

    // An entry written while a client pages appears on no later page.
    let first = as_ada
        .list_activity(&ActivityQuery {
            limit: Some(5),
            ..everything()
        })
        .await
        .json()
        .await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let late = Raw::new(&tenant.id, Utc::now(), "test.late");
    insert(&app, &late).await;
    let rest = as_ada
        .list_activity(&ActivityQuery {
            limit: Some(200),
            cursor: Some(cursor),
            ..everything()
        })
        .await
        .json()
        .await;
    assert!(!rest.to_string().contains(&late.id));
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(
        first["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(),
        expected.len()
    );

    // Limits and cursors are checked.
    for (limit, cursor) in [
        (Some(0), None),
        (Some(201), None),
        (None, Some("bm90LWEtY3Vyc29y")),
        (None, Some("%%")),
    ] {
        as_ada
            .list_activity(&ActivityQuery {
                limit,
                cursor: cursor.map(str::to_owned),
                ..everything()
            })
            .await
            .problem(422, "validation_failed")
            .await;
    }
    let page = as_ada.list_activity(&everything()).await.json().await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        (expected.len() + 1).min(50)
    );
}

async fn s7_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let t = tenant.id.as_str();
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let (ada_id, tess_id) = (id(&ada), id(&tess));
    connection(&app, t, "c1", &ada_id, &[]).await;
    let t0 = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut a = Raw::new(t, t0, "api_token.created");
    a.actor_user_id = Some(&tess_id);
    a.target_kind = "api_token";
    a.target_id = Some("tok-1");
    let mut b = Raw::new(t, t0 + Duration::hours(1), "apixtoken.created");
    b.actor_user_id = Some(&ada_id);
    let mut c_raw = Raw::new(t, t0 + Duration::hours(2), "connection.run_started");
    c_raw.actor_user_id = Some(&ada_id);
    c_raw.target_kind = "connection";
    c_raw.target_id = Some("c1");
    c_raw.connection_id = Some("c1");
    let d = Raw::new(t, t0 + Duration::hours(3), "API_TOKEN.revoked");
    for raw in [&a, &b, &c_raw, &d] {
        insert(&app, raw).await;
    }
    let c = app.as_(&ada);
    let list = async |query: ActivityQuery| {
        let items = newest_first(c.all_activity(&query, 200).await);
        ids(&items).into_iter().collect::<BTreeSet<_>>()
    };
    let at = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    let range = ActivityQuery {
        from: Some(at("2026-01-10T00:00:00Z")),
        to: Some(at("2026-01-11T00:00:00Z")),
        ..everything()
    };
    let action = |action: &str| ActivityQuery {
        action: Some(action.to_owned()),
        ..range.clone()
    };

    assert_eq!(list(range.clone()).await, set(&[&a, &b, &c_raw, &d]));
    // Exact action; a prefix ending in `.` (`_` is no wildcard, case counts).
    assert_eq!(list(action("api_token.created")).await, set(&[&a]));
    assert_eq!(list(action("api_token.")).await, set(&[&a]));
    assert_eq!(list(action("connection.")).await, set(&[&c_raw]));
    assert_eq!(list(action("api_token")).await, set(&[]));
    // Actor, target, connection.
    let by_ada = ActivityQuery {
        actor_user_id: Some(ada_id.clone()),
        ..range.clone()
    };
    assert_eq!(list(by_ada.clone()).await, set(&[&b, &c_raw]));
    assert_eq!(
        list(ActivityQuery {
            target_kind: Some("api_token".into()),
            target_id: Some("tok-1".into()),
            ..range.clone()
        })
        .await,
        set(&[&a])
    );
    assert_eq!(
        list(ActivityQuery {
            target_kind: Some("connection".into()),
            ..range.clone()
        })
        .await,
        set(&[&c_raw])
    );
    assert_eq!(
        list(ActivityQuery {
            connection_id: Some("c1".into()),
            ..range.clone()
        })
        .await,
        set(&[&c_raw])
    );
    // Time range: `from` inclusive, `to` exclusive; offsets other than Z are understood.
    assert_eq!(
        list(ActivityQuery {
            from: Some(at("2026-01-10T13:00:00Z")),
            to: Some(at("2026-01-10T15:00:00Z")),
            ..everything()
        })
        .await,
        set(&[&b, &c_raw])
    );
    // (The typed query always sends `Z`: this one is written by hand.)
    let with_offset = newest_first(
        all_pages(200, async |page| {
            let mut path = format!(
                "/api/v1/activity?from=2026-01-10T14:00:00%2B01:00\
                 &to=2026-01-10T13:00:00.000001Z&limit={}",
                page.limit.unwrap()
            );
            if let Some(cursor) = page.cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            c.raw(Method::GET, &path, None).await
        })
        .await,
    );
    assert_eq!(
        ids(&with_offset).into_iter().collect::<BTreeSet<_>>(),
        set(&[&b])
    );
    // Combined filters are ANDed.
    assert_eq!(
        list(ActivityQuery {
            action: Some("connection.".into()),
            ..by_ada
        })
        .await,
        set(&[&c_raw])
    );

    // `to` before `from`, an empty action.
    for query in [
        ActivityQuery {
            from: Some(at("2026-01-11T00:00:00Z")),
            to: Some(at("2026-01-10T00:00:00Z")),
            ..everything()
        },
        ActivityQuery {
            action: Some(String::new()),
            ..everything()
        },
    ] {
        c.list_activity(&query)
            .await
            .problem(422, "validation_failed")
            .await;
    }
    // What the query type cannot hold: not a time, not a date, an unknown parameter.
    for query in ["from=yesterday", "to=2026-13-01T00:00:00Z", "actor=someone"] {
        c.raw(Method::GET, &format!("/api/v1/activity?{query}"), None)
            .await
            .problem(422, "validation_failed")
            .await;
    }
}

async fn s7_another_tenants_entry_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let other = app.tenant().await;
    app.sign_in(&other, ADA_ADMIN).await;
    let foreign = Raw::new(&other.id, Utc::now(), "test.foreign");
    insert(&app, &foreign).await;

    let missing = uuid::Uuid::now_v7().to_string();
    let as_ada = app.as_(&ada);
    for id in [foreign.id.as_str(), missing.as_str(), "not-an-id"] {
        as_ada
            .get_activity(id)
            .await
            .problem(404, "not_found")
            .await;
    }
    let page = as_ada
        .list_activity(&ActivityQuery {
            target_id: Some(other.id.clone()),
            ..everything()
        })
        .await
        .json()
        .await;
    assert_eq!(page["items"], json!([]));

    // The log is append-only through the API too: no method changes an entry.
    let own = tenant_ids(&app, &tenant).await.into_iter().next().unwrap();
    // No such operations: sent as they are.
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let res = as_ada
            .raw(
                method,
                &format!("/api/v1/activity/{own}"),
                Some(&json!({ "action": "rewritten" })),
            )
            .await;
        assert_no_route(res.into_inner()).await;
    }
    let res = as_ada.raw(Method::DELETE, "/api/v1/activity", None).await;
    assert_no_route(res.into_inner()).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM activity_log WHERE action = 'rewritten'")
            .await,
        0
    );
}

/// The export of `query` in `format`, with its headers checked.
async fn export(
    client: &crate::client::Client<'_>,
    format: ExportFormat,
    query: &ActivityQuery,
) -> String {
    let query = ActivityExportQuery::of(format, query);
    let answer = client.export_activity(&query).await;
    assert_eq!(answer.status(), 200, "{}", answer.what());
    let (media, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    assert_eq!(answer.headers()["content-type"], media);
    assert_eq!(
        answer.headers()["content-disposition"],
        format!("attachment; filename=\"hubkeep-activity.{extension}\"").as_str()
    );
    answer.text().await
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, ACTIVITY_CSV_COLUMNS);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// A CSV row as the list's JSON entry says it should be (no cell here starts like a formula).
fn csv_of(e: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_default();
    let at = DateTime::parse_from_rfc3339(e["at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    vec![
        text(&e["id"]),
        at,
        text(&e["actor"]["kind"]),
        text(&e["actor"]["user_id"]),
        text(&e["actor"]["token_id"]),
        text(&e["actor"]["label"]),
        text(&e["action"]),
        text(&e["target"]["kind"]),
        text(&e["target"]["id"]),
        text(&e["target"]["label"]),
        text(&e["connection_id"]),
        e["details"].to_string(),
        text(&e["request_id"]),
        text(&e["ip"]),
        text(&e["user_agent"]),
    ]
}

/// SPEC S16: the export streams every entry the list pages through — more than one of its
/// batches, ties in time included — in the same order, as NDJSON (the list's entries) and
/// as CSV (the same values, a header first), for the filters the list takes.
async fn s16_the_activity_export_holds_what_the_list_holds_for_the_same_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let base = Utc::now() - Duration::hours(2);
    for i in 0..1_234_i64 {
        let action = if i % 3 == 0 {
            "test.exported"
        } else {
            "other.exported"
        };
        let raw = Raw::new(&tenant.id, base + Duration::seconds(i / 5), action);
        insert(&app, &raw).await;
    }
    let c = app.as_(&ada);
    let queries = [
        everything(),
        ActivityQuery {
            action: Some("test.".into()),
            ..everything()
        },
        ActivityQuery {
            from: Some(base + Duration::seconds(10)),
            to: Some(base + Duration::seconds(200)),
            ..everything()
        },
        ActivityQuery {
            action: Some("nothing.".into()),
            ..everything()
        },
    ];
    for query in queries {
        let listed = newest_first(c.all_activity(&query, 200).await);
        let exported = ndjson(&export(&c, ExportFormat::Ndjson, &query).await);
        assert_eq!(exported.len(), listed.len(), "{query:?}");
        assert_eq!(exported, listed, "{query:?}");
        let rows = csv_rows(&export(&c, ExportFormat::Csv, &query).await);
        let expected: Vec<Vec<String>> = listed.iter().map(csv_of).collect();
        assert_eq!(rows, expected, "{query:?}");
    }
    // The first query's export crossed batches (500 entries each), ties in time among them.
    let everything_listed = c.all_activity(&everything(), 200).await;
    assert!(everything_listed.len() > 2 * 500);
}

/// SPEC S16 with S7: a limited user's export is their list — their own entries and their
/// connections' — and another person's address stays out of it.
async fn s16_a_limited_users_export_holds_only_what_they_may_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let t = tenant.id.as_str();
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let tess = app.sign_in(&tenant, TESS_TECH).await;
    let (ada_id, tess_id) = (id(&ada), id(&tess));
    connection(&app, t, "c-shared", &ada_id, &[&tess_id]).await;
    connection(&app, t, "c-other", &ada_id, &[]).await;
    let now = Utc::now() - Duration::minutes(5);
    let mut shared = Raw::new(t, now, "connection.updated");
    shared.connection_id = Some("c-shared");
    shared.actor_user_id = Some(&ada_id);
    let mut other = Raw::new(t, now, "connection.updated");
    other.connection_id = Some("c-other");
    for raw in [&shared, &other] {
        insert(&app, raw).await;
    }
    let as_tess = app.as_(&tess);
    let listed = newest_first(as_tess.all_activity(&everything(), 200).await);
    let exported = ndjson(&export(&as_tess, ExportFormat::Ndjson, &everything()).await);
    assert_eq!(exported, listed);
    let exported_ids: BTreeSet<String> = ids(&exported).into_iter().collect();
    assert!(exported_ids.contains(&shared.id));
    assert!(!exported_ids.contains(&other.id));
    let entry = exported
        .iter()
        .find(|e| e["id"] == json!(shared.id))
        .unwrap();
    assert_eq!(entry["ip"], Value::Null, "Ada's address is hers");
    let csv = export(&as_tess, ExportFormat::Csv, &everything()).await;
    assert!(!csv.contains("192.0.2.7"), "{csv}");
    assert!(!csv.contains(&other.id));
}

/// SPEC S16, S14: names come from the PSA and from people; a CSV cell that a spreadsheet
/// would run as a formula starts with `'`, and quotes, commas and line breaks stay in
/// their cell (RFC 4180).
async fn s16_csv_cells_a_spreadsheet_would_run_start_with_a_quote(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let labels = [
        "=HYPERLINK(\"https://evil.example/\",\"x\")",
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "\tTabbed",
        "\rReturned",
        "Quote \" comma , and\nnew line",
        "semi;=colon",
    ];
    let mut written = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let mut raw = Raw::new(
            &tenant.id,
            Utc::now() - Duration::minutes(10) + Duration::seconds(i as i64),
            "test.labelled",
        );
        raw.label = label;
        insert(&app, &raw).await;
        written.push((raw.id.clone(), *label));
    }
    let query = ActivityQuery {
        action: Some("test.labelled".into()),
        ..everything()
    };
    let text = export(&app.as_(&ada), ExportFormat::Csv, &query).await;
    // Every cell quoted: a reader splitting on `;` keeps `semi;=colon` in one cell.
    assert!(text.contains("\"semi;=colon\""), "{text}");
    assert!(
        text.lines().next().unwrap().starts_with("\"id\",\"at\","),
        "{text}"
    );
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), labels.len());
    let label_column = ACTIVITY_CSV_COLUMNS
        .iter()
        .position(|c| *c == "actor_label")
        .unwrap();
    for (id, label) in written {
        let row = rows.iter().find(|r| r[0] == id).unwrap();
        let expected = if label.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{label}")
        } else {
            label.to_owned()
        };
        assert_eq!(row[label_column], expected);
    }
    // NDJSON is data, not a sheet: the labels as written.
    let lines = ndjson(&export(&app.as_(&ada), ExportFormat::Ndjson, &query).await);
    let labels_out: BTreeSet<&str> = lines
        .iter()
        .map(|e| e["actor"]["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels_out, labels.into_iter().collect());
}

/// SPEC S8, S16: an unknown format, a field the export does not take, a bad range or no
/// credential is a problem, never a file.
async fn s16_bad_export_requests_are_problems_before_any_byte(backend: Backend) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant().await;
    let ada = app.sign_in(&tenant, ADA_ADMIN).await;
    let c = app.as_(&ada);
    for query in [
        "format=xlsx",
        "",
        "format=csv&limit=5",
        "format=csv&cursor=abc",
        "format=csv&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "format=csv&action=",
    ] {
        let res = c
            .request(Method::GET, &format!("/api/v1/activity/export?{query}"))
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "validation_failed").await;
    }
    let res = app
        .anonymous()
        .request(Method::GET, "/api/v1/activity/export?format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
