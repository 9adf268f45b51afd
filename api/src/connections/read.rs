//! Connections (SPEC S4, S5, S2.1): create one, list mine, read one, and the governance list.
//!
//! Visibility is a role assignment: a caller sees a connection only while they hold a role on
//! it, and for anyone else it does not exist (404, the same answer as for an id that was
//! never issued). Elevated users are no exception here; they oversee every connection through
//! the governance list, which shows who owns what but none of a connection's settings.

use hubkeep_shared::{ConnectionId, UserId};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hubkeep_shared::fields::{FieldErrors, Name, TimezoneName};
use hubkeep_shared::{
    ConnectionKind, ConnectionRole, FieldError, HubAccess, allowed_connection_actions,
};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::access::levels::saved_set;
use crate::activity::{self, Target, actions};
use crate::cache::Key;
use crate::db::{
    self,
    entities::{
        connection_endpoints, connection_groups, connections, role_assignments, security_levels,
        tenant_settings, users,
    },
};
use crate::error::ApiError;
use crate::hub_access::decide;
use crate::identity::Caller;
use crate::pagination::Paging as _;
use crate::pagination::{Page, PageQuery};
pub use hubkeep_shared::api::connections::{
    Connection, ConnectionStatus, ConnectionSummary, Endpoint, EndpointSide, EndpointStatus,
    ForecastBudget, GovernanceItem, GovernanceOwner, NewConnection, UserRef,
};

fn corrupt(what: &str, value: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!(
        "stored {what} `{value}` is not one this API knows"
    ))
}

/// A checked `NewConnection`.
struct Validated {
    name: String,
    kind: ConnectionKind,
    timezone: Option<String>,
}

fn validate(input: &NewConnection) -> Result<Validated, ApiError> {
    let mut errors = FieldErrors::new();
    let name = errors.check::<Name>("name", &input.name);
    let kind = input.kind.parse::<ConnectionKind>().ok();
    if kind.is_none() {
        errors.add(
            "kind",
            "must be one of autotask_quickbooks, autotask_xero, xero_power_bi, \
             quickbooks_power_bi",
        );
    }
    let timezone = input
        .timezone
        .as_deref()
        .and_then(|tz| errors.check::<TimezoneName>("timezone", tz))
        .map(String::from);
    match (name, kind) {
        (Some(name), Some(kind)) if errors.is_empty() => Ok(Validated {
            name: name.into(),
            kind,
            timezone,
        }),
        _ => Err(ApiError::validation(
            "The connection is not valid.",
            errors.into_vec(),
        )),
    }
}

async fn default_timezone(db: &impl ConnectionTrait, tenant_id: &str) -> Result<String, ApiError> {
    tenant_settings::Entity::find_by_id(tenant_id.to_owned())
        .one(db)
        .await?
        .map(|s| s.default_timezone)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("tenant {tenant_id} has no settings")))
}

/// Creates a connection owned by the caller, in the handler's transaction: the connection, the
/// caller's `owner` role, both endpoints (`disconnected`, no account yet) and the
/// `connection.created` entry, which the handler commits together. The owner row must be in
/// the same transaction: the schema's deferred foreign key refuses a connection without one
/// at commit.
pub async fn create(
    txn: &DatabaseTransaction,
    caller: &Caller,
    input: NewConnection,
) -> Result<Connection, ApiError> {
    let mut input = validate(&input)?;
    let (timezone, timezone_source) = match input.timezone.take() {
        Some(tz) => (tz, "request"),
        None => (
            default_timezone(txn, &caller.tenant_id).await?,
            "tenant_default",
        ),
    };
    let now = db::now();
    let model = new_connection(caller, &input, timezone, now);
    let active: connections::ActiveModel = model.clone().into();
    connections::Entity::insert(sea_orm::ActiveModelTrait::reset_all(active))
        .exec_without_returning(txn)
        .await?;
    let endpoints = insert_owner_and_endpoints(txn, caller, &model, input.kind, now).await?;
    activity::record_by(
        txn,
        caller,
        actions::CONNECTION_CREATED,
        Target::new("connection", &model.id, &model.name),
        Some(&model.id),
        json!({
            "name": model.name,
            "kind": input.kind,
            "timezone": model.timezone,
            "timezone_source": timezone_source,
            "owner_user_id": caller.user.id,
        }),
    )
    .await?;
    let owner = UserRef {
        id: caller.user.id.clone(),
        display_name: caller.user.display_name.clone(),
    };
    view(
        &model,
        vec![ConnectionRole::Owner],
        endpoints.iter().map(endpoint_view).collect(),
        None,
        owner,
    )
}

/// The row of a new active connection owned by the caller.
fn new_connection(
    caller: &Caller,
    input: &Validated,
    timezone: String,
    now: DateTime<Utc>,
) -> connections::Model {
    connections::Model {
        id: ConnectionId::new(db::new_id()),
        tenant_id: caller.tenant_id.clone(),
        name: input.name.clone(),
        kind: input.kind,
        timezone,
        status: ConnectionStatus::Active,
        owner_user_id: caller.user.id.clone(),
        owner_role: ConnectionRole::Owner,
        group_id: None,
        paid_through: None,
        locked_period_export: None,
        reporting_currency: None,
        forecast_budget_id: None,
        forecast_budget_name: None,
        postgres_db: None,
        created_by: Some(caller.user.id.clone()),
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    }
}

/// The caller's `owner` row and both endpoints (`disconnected`, no account yet) of a new
/// connection; the endpoints written.
async fn insert_owner_and_endpoints(
    txn: &DatabaseTransaction,
    caller: &Caller,
    model: &connections::Model,
    kind: ConnectionKind,
    now: DateTime<Utc>,
) -> Result<[connection_endpoints::Model; 2], ApiError> {
    role_assignments::Entity::insert(role_assignments::ActiveModel {
        connection_id: Set(model.id.clone()),
        user_id: Set(caller.user.id.clone()),
        role: Set(ConnectionRole::Owner),
        tenant_id: Set(caller.tenant_id.clone()),
        granted_by: Set(Some(caller.user.id.clone())),
        granted_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    let endpoints = [
        (EndpointSide::Source, kind.source()),
        (EndpointSide::Target, kind.target()),
    ]
    .map(|(side, system)| connection_endpoints::Model {
        connection_id: model.id.clone(),
        side,
        tenant_id: caller.tenant_id.clone(),
        system,
        account_label: None,
        status: EndpointStatus::Disconnected,
        changed_at: now,
        changed_by: Some(caller.user.id.clone()),
    });
    connection_endpoints::Entity::insert_many(endpoints.iter().map(|e| {
        let active: connection_endpoints::ActiveModel = e.clone().into();
        sea_orm::ActiveModelTrait::reset_all(active)
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(endpoints)
}

fn endpoint_view(row: &connection_endpoints::Model) -> Endpoint {
    Endpoint {
        side: row.side,
        system: row.system,
        account_label: row.account_label.clone(),
        status: row.status,
        changed_at: row.changed_at,
    }
}

fn view(
    model: &connections::Model,
    mut my_roles: Vec<ConnectionRole>,
    mut endpoints: Vec<Endpoint>,
    group: Option<String>,
    owner: UserRef,
) -> Result<Connection, ApiError> {
    let kind = model.kind;
    my_roles.sort();
    my_roles.dedup();
    endpoints.sort_by_key(|e| e.side);
    let forecast_budget = match (&model.forecast_budget_id, &model.forecast_budget_name) {
        (Some(id), name) => Some(ForecastBudget {
            id: id.clone(),
            name: name.clone().unwrap_or_default(),
        }),
        (None, _) => None,
    };
    Ok(Connection {
        id: model.id.clone(),
        name: model.name.clone(),
        kind,
        timezone: model.timezone.clone(),
        status: model.status,
        allowed_actions: allowed_connection_actions(&my_roles, kind),
        my_roles,
        capabilities: kind.capabilities(),
        endpoints,
        group,
        owner,
        paid_through: model.paid_through,
        locked_period_export: model.locked_period_export,
        reporting_currency: model.reporting_currency.clone(),
        forecast_budget,
        postgres_db_set: model.postgres_db.as_ref().is_some_and(|s| !s.is_empty()),
        created_at: model.created_at,
        updated_at: model.updated_at,
        cancelled_at: model.cancelled_at,
    })
}

/// The roles `user_id` holds on a connection, in matrix order.
pub async fn roles_on(
    db: &impl ConnectionTrait,
    connection_id: &ConnectionId,
    user_id: &UserId,
) -> Result<Vec<ConnectionRole>, ApiError> {
    let mut roles = role_assignments::Entity::find()
        .filter(role_assignments::Column::ConnectionId.eq(connection_id))
        .filter(role_assignments::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .iter()
        .map(|r| r.role)
        .collect::<Vec<_>>();
    roles.sort();
    Ok(roles)
}

/// The connection `id` and the caller's roles on it, or 404 when it does not exist, belongs
/// to another tenant, or the caller holds no role on it: one answer for all three, so a
/// response never reveals that a connection exists (SPEC S5, S8). Every per-connection
/// operation starts here.
pub async fn visible(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<(connections::Model, Vec<ConnectionRole>), ApiError> {
    let model = connections::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .filter(|c| c.tenant_id == caller.tenant_id)
        .ok_or_else(ApiError::not_found)?;
    let roles = roles_on(db, &model.id, &caller.user.id).await?;
    if roles.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok((model, roles))
}

/// `GET /api/v1/connections/{id}`: [`get`], as the JSON body it answers with, through the read
/// cache ([`crate::cache`]). Only for a request that changed nothing: a handler that has just
/// written reads with [`get`] (on PostgreSQL the cache hears of the write only after the
/// handler returns).
pub async fn get_cached(
    state: &AppState,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Arc<Vec<u8>>, ApiError> {
    let key = Key::Connection(caller.tenant_id.clone(), caller.user.id.clone(), id.clone());
    let load = async {
        let body = serde_json::to_vec(&get(state, caller, id).await?)
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok::<_, ApiError>(Some(body))
    };
    let body = state.cache.load_through(key, load).await?;
    body.ok_or_else(ApiError::not_found)
}

/// A connection as the caller sees it: what [`visible`] and [`views_for`] read, in one query
/// (the connection, its owner and group, the caller's roles and the endpoints, joined; at
/// most 4 roles × 2 endpoints rows). 404 as [`visible`] answers it.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: &ConnectionId,
) -> Result<Connection, ApiError> {
    let db = &state.reader;
    let backend = db.get_database_backend();
    let (p1, p2, p3) = match backend {
        DbBackend::Postgres => ("$1", "$2", "$3"),
        _ => ("?", "?", "?"),
    };
    let sql = format!(
        r#"SELECT {}, {}, "o"."display_name" AS "owner_name", "g"."name" AS "group_name",
            "r"."role" AS "my_role"
        FROM "connections" "c"
        LEFT JOIN "users" "o" ON "o"."id" = "c"."owner_user_id" AND "o"."tenant_id" = "c"."tenant_id"
        LEFT JOIN "connection_groups" "g" ON "g"."id" = "c"."group_id" AND "g"."tenant_id" = "c"."tenant_id"
        LEFT JOIN "role_assignments" "r" ON "r"."connection_id" = "c"."id" AND "r"."user_id" = {p1}
        LEFT JOIN "connection_endpoints" "ep" ON "ep"."connection_id" = "c"."id"
        WHERE "c"."id" = {p2} AND "c"."tenant_id" = {p3}"#,
        crate::identity::lookup::columns::<connections::Entity>("c"),
        crate::identity::lookup::columns::<connection_endpoints::Entity>("ep"),
    );
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [
                caller.user.id.clone().into(),
                id.to_owned().into(),
                caller.tenant_id.clone().into(),
            ],
        ))
        .await?;
    let first = rows.first().ok_or_else(ApiError::not_found)?;
    let model = connections::Model::from_query_result(first, "c_")?;
    let mut roles = Vec::new();
    for row in &rows {
        if let Some(role) = row.try_get::<Option<ConnectionRole>>("", "my_role")? {
            roles.push(role);
        }
    }
    // No role: the same 404 as a connection that does not exist, before anything else of
    // the connection is looked at.
    if roles.is_empty() {
        return Err(ApiError::not_found());
    }
    let mut endpoints = Vec::new();
    let mut sides = BTreeSet::new();
    for row in &rows {
        if let Some(side) = row.try_get::<Option<EndpointSide>>("", "ep_side")?
            && sides.insert(side)
        {
            endpoints.push(endpoint_view(
                &connection_endpoints::Model::from_query_result(row, "ep_")?,
            ));
        }
    }
    let owner_name = first
        .try_get::<Option<String>>("", "owner_name")?
        .ok_or_else(|| corrupt("connection owner", &model.owner_user_id))?;
    let group = first.try_get::<Option<String>>("", "group_name")?;
    let owner = UserRef {
        id: model.owner_user_id.clone(),
        display_name: owner_name,
    };
    view(&model, roles, endpoints, group, owner)
}

/// Builds the member's view of each row (four queries per page, whatever its size).
async fn views_for(
    db: &impl ConnectionTrait,
    caller: &Caller,
    rows: Vec<connections::Model>,
) -> Result<Vec<Connection>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<ConnectionId> = rows.iter().map(|c| c.id.clone()).collect();
    let mut roles: HashMap<ConnectionId, Vec<ConnectionRole>> = HashMap::new();
    for row in role_assignments::Entity::find()
        .filter(role_assignments::Column::UserId.eq(&caller.user.id))
        .filter(role_assignments::Column::ConnectionId.is_in(ids.clone()))
        .all(db)
        .await?
    {
        roles
            .entry(row.connection_id.clone())
            .or_default()
            .push(row.role);
    }
    let mut endpoints: HashMap<ConnectionId, Vec<Endpoint>> = HashMap::new();
    for row in connection_endpoints::Entity::find()
        .filter(connection_endpoints::Column::ConnectionId.is_in(ids))
        .all(db)
        .await?
    {
        endpoints
            .entry(row.connection_id.clone())
            .or_default()
            .push(endpoint_view(&row));
    }
    let group_ids: BTreeSet<String> = rows.iter().filter_map(|c| c.group_id.clone()).collect();
    let groups: HashMap<String, String> = if group_ids.is_empty() {
        HashMap::new()
    } else {
        connection_groups::Entity::find()
            .filter(connection_groups::Column::TenantId.eq(&caller.tenant_id))
            .filter(connection_groups::Column::Id.is_in(group_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect()
    };
    let owners = users_by_id(db, &caller.tenant_id, &rows).await?;
    rows.iter()
        .map(|c| {
            let owner = owners
                .get(&c.owner_user_id)
                .ok_or_else(|| corrupt("connection owner", &c.owner_user_id))?;
            view(
                c,
                roles.remove(&c.id).unwrap_or_default(),
                endpoints.remove(&c.id).unwrap_or_default(),
                c.group_id.as_ref().and_then(|g| groups.get(g).cloned()),
                UserRef {
                    id: owner.id.clone(),
                    display_name: owner.display_name.clone(),
                },
            )
        })
        .collect()
}

/// The owners of `rows`, by id.
async fn users_by_id(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    rows: &[connections::Model],
) -> Result<HashMap<UserId, users::Model>, ApiError> {
    let ids: BTreeSet<UserId> = rows.iter().map(|c| c.owner_user_id.clone()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect())
}

// ---------------------------------------------------------------------------------------
// Ordering and keyset pagination: by name, case-insensitively, then by id.

/// Where a page continues: the last row's name and id.
#[derive(Serialize, Deserialize)]
struct Cursor {
    n: String,
    id: String,
}

/// The sort key in SQL. PostgreSQL compares it byte by byte (`COLLATE "C"`), as SQLite does,
/// so both backends order alike whatever the database's locale (the users list does the same
/// through its stored `name_key`). The cursor carries the raw name and the database lowers
/// both sides, so a page boundary never depends on Rust and SQL agreeing on `lower`.
const SORT_KEY_SQLITE: &str = r#"LOWER("connections"."name")"#;
const SORT_KEY_POSTGRES: &str = r#"LOWER("connections"."name") COLLATE "C""#;

fn sorted(
    select: Select<connections::Entity>,
    backend: DbBackend,
    query: &PageQuery,
    limit: u64,
) -> Result<Select<connections::Entity>, ApiError> {
    let select = match query.after_id()? {
        None => select,
        Some(text) => {
            let cursor: Cursor = serde_json::from_str(&text)
                .ok()
                // A JSON escape can still smuggle a NUL, which no stored text has.
                .filter(|c: &Cursor| !c.n.contains('\0') && !c.id.contains('\0'))
                .ok_or_else(|| {
                    ApiError::validation(
                        "Invalid pagination.",
                        vec![FieldError {
                            field: "cursor".into(),
                            message: "is not a cursor this API issued".into(),
                        }],
                    )
                })?;
            let after = match backend {
                DbBackend::Postgres => Expr::cust_with_values(
                    r#"(LOWER("connections"."name") COLLATE "C" > LOWER($1) COLLATE "C" OR (LOWER("connections"."name") = LOWER($1) AND "connections"."id" > $2))"#,
                    [cursor.n, cursor.id],
                ),
                _ => Expr::cust_with_values(
                    r#"(LOWER("connections"."name") > LOWER(?) OR (LOWER("connections"."name") = LOWER(?) AND "connections"."id" > ?))"#,
                    [cursor.n.clone(), cursor.n, cursor.id],
                ),
            };
            select.filter(after)
        }
    };
    let key = match backend {
        DbBackend::Postgres => SORT_KEY_POSTGRES,
        _ => SORT_KEY_SQLITE,
    };
    Ok(select
        .order_by(Expr::cust(key), Order::Asc)
        .order_by(connections::Column::Id, Order::Asc)
        .limit(limit + 1))
}

/// Splits the `limit + 1` rows fetched into the page and the cursor of the next one (the
/// extra row only says that there is a next page).
fn split_page(
    mut rows: Vec<connections::Model>,
    limit: u64,
) -> (Vec<connections::Model>, Option<String>) {
    let keep = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > keep;
    rows.truncate(keep);
    let next = if more {
        rows.last()
            .map(|c| crate::pagination::encode_cursor(&cursor_of(c)))
    } else {
        None
    };
    (rows, next)
}

fn cursor_of(c: &connections::Model) -> String {
    serde_json::to_string(&Cursor {
        n: c.name.clone(),
        id: c.id.to_string(),
    })
    .unwrap_or_default()
}

/// `GET /api/v1/connections`: one page of the connections the caller holds a role on.
pub async fn list_mine(
    state: &AppState,
    caller: &Caller,
    query: &PageQuery,
) -> Result<Page<Connection>, ApiError> {
    let limit = query.limit()?;
    let mine = Query::select()
        .column(role_assignments::Column::ConnectionId)
        .from(role_assignments::Entity)
        .and_where(role_assignments::Column::TenantId.eq(&caller.tenant_id))
        .and_where(role_assignments::Column::UserId.eq(&caller.user.id))
        .to_owned();
    let select = connections::Entity::find()
        .filter(connections::Column::TenantId.eq(&caller.tenant_id))
        .filter(connections::Column::Id.in_subquery(mine));
    let rows = sorted(select, state.reader.get_database_backend(), query, limit)?
        .all(&state.reader)
        .await?;
    let (page_rows, next_cursor) = split_page(rows, limit);
    Ok(Page {
        items: views_for(&state.reader, caller, page_rows).await?,
        next_cursor,
    })
}

/// `GET /api/v1/connections/governance`: one page of every connection of the tenant, with
/// its owner, member count and whether it is orphaned.
pub async fn governance(
    state: &AppState,
    caller: &Caller,
    query: &PageQuery,
) -> Result<Page<GovernanceItem>, ApiError> {
    let limit = query.limit()?;
    let select =
        connections::Entity::find().filter(connections::Column::TenantId.eq(&caller.tenant_id));
    let rows = sorted(select, state.reader.get_database_backend(), query, limit)?
        .all(&state.reader)
        .await?;
    let (page_rows, next_cursor) = split_page(rows, limit);

    let ids: Vec<ConnectionId> = page_rows.iter().map(|c| c.id.clone()).collect();
    let mut members: HashMap<ConnectionId, BTreeSet<UserId>> = HashMap::new();
    if !ids.is_empty() {
        for row in role_assignments::Entity::find()
            .filter(role_assignments::Column::TenantId.eq(&caller.tenant_id))
            .filter(role_assignments::Column::ConnectionId.is_in(ids))
            .all(&state.reader)
            .await?
        {
            members
                .entry(row.connection_id)
                .or_default()
                .insert(row.user_id);
        }
    }
    // S2 for each owner from current data, with the level facts and the Access-tab set read
    // once per page rather than twice per owner.
    let owners = users_by_id(&state.reader, &caller.tenant_id, &page_rows).await?;
    let level_ids: BTreeSet<i64> = owners.values().map(|u| u.security_level_id).collect();
    let levels: HashMap<i64, security_levels::Model> = if level_ids.is_empty() {
        HashMap::new()
    } else {
        security_levels::Entity::find()
            .filter(security_levels::Column::TenantId.eq(&caller.tenant_id))
            .filter(security_levels::Column::Id.is_in(level_ids))
            .all(&state.reader)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect()
    };
    let elevated_set = saved_set(&state.reader, &caller.tenant_id).await?;

    let items = page_rows
        .iter()
        .map(|c| {
            let owner = owners
                .get(&c.owner_user_id)
                .ok_or_else(|| corrupt("connection owner", &c.owner_user_id))?;
            let access = decide(
                owner,
                levels.get(&owner.security_level_id).map(|l| l.facts()),
                elevated_set.contains(&owner.security_level_id),
            )
            .level;
            Ok(GovernanceItem {
                connection: ConnectionSummary {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    kind: c.kind,
                    status: c.status,
                },
                owner: GovernanceOwner {
                    id: owner.id.clone(),
                    display_name: owner.display_name.clone(),
                    access_level: access,
                },
                member_count: members
                    .get(&c.id)
                    .map_or(0, |m| u64::try_from(m.len()).unwrap_or(u64::MAX)),
                orphaned: access == HubAccess::None,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Page { items, next_cursor })
}
