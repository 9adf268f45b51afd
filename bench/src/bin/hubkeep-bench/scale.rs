//! The scale bench: one tenant with 100,000 hub users and 10,000 connections, seeded straight
//! into the database; then, one request at a time, the users list (first page, and a page deep
//! in the cursor, for every sort and direction) and the connection list of a member of 500
//! connections. Latency is measured by the client, from sending to the last byte.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use hubkeep_api::db::entities::{
    connection_endpoints, connections, elevated_levels, role_assignments, security_levels, users,
};
use hubkeep_api::hub_access::{decide, stamp};
use hubkeep_shared::api::{ConnectionStatus, EndpointSide, EndpointStatus};
use hubkeep_shared::{
    AccessSource, ConnectionId, ConnectionKind, ConnectionRole, Elevation, UserId,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::{Backend, Bench, results_dir, write_json};

pub const USERS: usize = 100_000;
pub const CONNECTIONS: usize = 10_000;
pub const MEMBER_OF: usize = 500;
pub const REQUESTS: usize = 200;
/// How deep the "deep" users page starts (rows skipped in that order).
pub const DEEP_OFFSET: u64 = 90_000;
/// Rows per INSERT while seeding (under both backends' bind-parameter limits).
const CHUNK: usize = 400;

const SORTS: [&str; 4] = ["name", "security_level", "access_level", "last_accessed"];
const ORDERS: [&str; 2] = ["asc", "desc"];

/// One measured series: the same request sent `REQUESTS` times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// `users-first`, `users-deep` or `connections`.
    pub group: String,
    pub label: String,
    pub path: String,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleResults {
    pub backend: Backend,
    pub users: usize,
    pub connections: usize,
    pub member_of: usize,
    pub requests: usize,
    pub deep_offset: u64,
    pub seed_seconds: f64,
    pub series: Vec<Series>,
    pub peak_rss_kib: u64,
}

/// A small deterministic generator (xorshift64*): the same tenant every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const FIRST: [&str; 24] = [
    "Amara", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
    "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor",
    "Wen", "Zoë",
];
const LAST: [&str; 24] = [
    "Abbott",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Quiroga",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Van Dijk",
    "Weber",
    "Yilmaz",
];
const WORDS: [&str; 16] = [
    "Acme",
    "Blue Harbor",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Horizon",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Meridian",
    "Northwind",
    "Orchard",
    "Pinnacle",
];
const KINDS: [ConnectionKind; 4] = [
    ConnectionKind::AutotaskQuickbooks,
    ConnectionKind::AutotaskXero,
    ConnectionKind::XeroPowerBi,
    ConnectionKind::QuickbooksPowerBi,
];

async fn insert_chunks<E, A>(db: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Seeds the tenant: users, connections with their members and endpoints, one transaction.
async fn seed(bench: &Bench) -> anyhow::Result<()> {
    let db = Database::connect(bench.database_url.as_str()).await?;
    let tenant = bench.tenant_id.as_str();
    let levels: Vec<security_levels::Model> = security_levels::Entity::find()
        .filter(security_levels::Column::TenantId.eq(tenant))
        .all(&db)
        .await?;
    ensure!(
        !levels.is_empty(),
        "the tenant has no cached security levels"
    );
    let set: BTreeSet<i64> = elevated_levels::Entity::find()
        .filter(elevated_levels::Column::TenantId.eq(tenant))
        .all(&db)
        .await?
        .into_iter()
        .map(|l| l.level_id)
        .collect();
    let primary = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant))
        .filter(users::Column::IsPrimary.eq(true))
        .one(&db)
        .await?
        .context("the primary user signed in")?;
    let now = Utc::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut user_rows = Vec::with_capacity(USERS);
    let mut ids = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let level = &levels[rng.below(levels.len())];
        let first = FIRST[rng.below(FIRST.len())];
        let last = LAST[rng.below(LAST.len())];
        let email = format!(
            "{}.{}.{i}@bench.example",
            first.to_lowercase(),
            last.to_lowercase()
        );
        let last_accessed = now - Duration::from_secs(rng.next() % (90 * 86_400));
        let mut model = users::Model {
            id: UserId::new(hubkeep_api::db::new_id()),
            tenant_id: tenant.to_owned(),
            psa_resource_id: 10_000_000 + i64::try_from(i)?,
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            display_name: format!("{first} {last}"),
            email_key: hubkeep_api::db::email_key(&email),
            email,
            user_name: format!("u{i}"),
            resource_active: !rng.chance(3),
            security_level_id: level.id,
            security_level_name: level.name.clone(),
            active: !rng.chance(5),
            elevation: match rng.below(20) {
                0 => Elevation::Granted,
                1 => Elevation::Revoked,
                _ => Elevation::Inherit,
            },
            is_primary: false,
            access_rank: 0,
            // Stamped below.
            access_source: AccessSource::LevelNotEligible,
            name_key: format!("{first} {last}").to_lowercase(),
            first_sign_in_at: last_accessed - Duration::from_secs(86_400),
            last_accessed_at: last_accessed,
            snapshot_refreshed_at: now,
            updated_at: now,
        };
        let decision = decide(&model, Some(level.facts()), set.contains(&level.id));
        stamp(&mut model, decision);
        ids.push(model.id.clone());
        user_rows.push(users::ActiveModel::from(model));
    }
    let mut connection_rows = Vec::with_capacity(CONNECTIONS);
    let mut role_rows = Vec::new();
    let mut endpoint_rows = Vec::with_capacity(2 * CONNECTIONS);
    let member_roles = [
        ConnectionRole::ReadOnly,
        ConnectionRole::ItAdmin,
        ConnectionRole::BusinessAdmin,
    ];
    for i in 0..CONNECTIONS {
        let id = ConnectionId::new(hubkeep_api::db::new_id());
        let kind = KINDS[i % KINDS.len()];
        let owner = ids[rng.below(ids.len())].clone();
        connection_rows.push(connections::ActiveModel::from(connections::Model {
            id: id.clone(),
            tenant_id: tenant.to_owned(),
            name: format!(
                "{} {:05}",
                WORDS[rng.below(WORDS.len())],
                rng.below(100_000)
            ),
            kind,
            timezone: "UTC".to_owned(),
            status: ConnectionStatus::Active,
            owner_user_id: owner.clone(),
            owner_role: ConnectionRole::Owner,
            group_id: None,
            paid_through: None,
            locked_period_export: None,
            reporting_currency: None,
            forecast_budget_id: None,
            forecast_budget_name: None,
            postgres_db: None,
            created_by: Some(owner.clone()),
            created_at: now,
            updated_at: now,
            cancelled_at: None,
        }));
        let mut holders: BTreeSet<(UserId, ConnectionRole)> = BTreeSet::new();
        holders.insert((owner, ConnectionRole::Owner));
        // The primary user holds a role on every 20th connection: 500 of 10,000.
        if i % (CONNECTIONS / MEMBER_OF) == 0 {
            holders.insert((primary.id.clone(), member_roles[i % member_roles.len()]));
        }
        for _ in 0..2 {
            holders.insert((
                ids[rng.below(ids.len())].clone(),
                member_roles[rng.below(member_roles.len())],
            ));
        }
        for (user_id, role) in holders {
            role_rows.push(role_assignments::ActiveModel::from(
                role_assignments::Model {
                    connection_id: id.clone(),
                    user_id,
                    role,
                    tenant_id: tenant.to_owned(),
                    granted_by: None,
                    granted_at: now,
                },
            ));
        }
        for (side, system) in [
            (EndpointSide::Source, kind.source()),
            (EndpointSide::Target, kind.target()),
        ] {
            endpoint_rows.push(connection_endpoints::ActiveModel::from(
                connection_endpoints::Model {
                    connection_id: id.clone(),
                    side,
                    tenant_id: tenant.to_owned(),
                    system,
                    account_label: Some(format!("{system} account")),
                    status: EndpointStatus::Connected,
                    changed_at: now,
                    changed_by: None,
                },
            ));
        }
    }
    let txn = db.begin().await?;
    insert_chunks(&txn, user_rows).await?;
    insert_chunks(&txn, connection_rows).await?;
    insert_chunks(&txn, role_rows).await?;
    insert_chunks(&txn, endpoint_rows).await?;
    txn.commit().await?;
    // Fresh statistics, as a database that grew to this size over time would have.
    db.execute_unprepared("ANALYZE").await?;
    db.close().await?;
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

async fn measure(
    bench: &Bench,
    group: &str,
    label: String,
    path: String,
    check: impl Fn(&Value) -> anyhow::Result<()>,
) -> anyhow::Result<Series> {
    let url = bench.server.url(&path);
    // One request outside the measurement, which also checks the answer.
    let first = get(bench, &url).await?;
    check(&first).with_context(|| format!("checking {path}"))?;
    let mut samples = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let response = bench
            .client
            .get(&url)
            .bearer_auth(&bench.api_token)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
        }
        samples.push(elapsed);
    }
    samples.sort_by(f64::total_cmp);
    let series = Series {
        group: group.to_owned(),
        label,
        path,
        p50_ms: percentile(&samples, 50.0),
        p95_ms: percentile(&samples, 95.0),
        p99_ms: percentile(&samples, 99.0),
        max_ms: samples.last().copied().unwrap_or_default(),
    };
    println!(
        "{:<12} {:<44} p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms",
        series.group, series.label, series.p50_ms, series.p95_ms, series.p99_ms
    );
    Ok(series)
}

async fn get(bench: &Bench, url: &str) -> anyhow::Result<Value> {
    let response = bench
        .client
        .get(url)
        .bearer_auth(&bench.api_token)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    ensure!(status.is_success(), "GET {url}: {status} {body}");
    Ok(body)
}

/// The key the users list orders by, as its cursor carries it.
fn sort_key(sort: &str, user: &users::Model) -> Value {
    match sort {
        "name" => json!(user.name_key),
        "security_level" => json!(user.security_level_name),
        "access_level" => json!(user.access_rank),
        _ => json!(user.last_accessed_at),
    }
}

fn sort_column(sort: &str) -> users::Column {
    match sort {
        "name" => users::Column::NameKey,
        "security_level" => users::Column::SecurityLevelName,
        "access_level" => users::Column::AccessRank,
        _ => users::Column::LastAccessedAt,
    }
}

/// The users `DEEP_OFFSET` and `DEEP_OFFSET + 1` rows into the list in this order, read from
/// the database: a cursor after the first (built as the API builds its cursors) must give a
/// page that starts with the second.
async fn deep_rows(
    db: &impl ConnectionTrait,
    tenant: &str,
    sort: &str,
    order: &str,
) -> anyhow::Result<(users::Model, users::Model)> {
    let direction = if order == "asc" {
        sea_orm::Order::Asc
    } else {
        sea_orm::Order::Desc
    };
    let mut rows = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant))
        .order_by(sort_column(sort), direction.clone())
        .order_by(users::Column::Id, direction)
        .offset(DEEP_OFFSET)
        .limit(2)
        .all(db)
        .await?
        .into_iter();
    let (Some(at), Some(next)) = (rows.next(), rows.next()) else {
        bail!("fewer than {DEEP_OFFSET} users");
    };
    Ok((at, next))
}

/// Runs the scale bench on one backend and writes `scale-<backend>.json`.
pub async fn run(backend: Backend) -> anyhow::Result<()> {
    println!("== scale bench: {} ==", backend.label());
    let bench = Bench::start(backend, "scale").await?;
    let started = Instant::now();
    seed(&bench).await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    println!("seeded {USERS} users, {CONNECTIONS} connections in {seed_seconds:.1} s");
    let db = Database::connect(bench.database_url.as_str()).await?;
    let mut series = Vec::new();
    for sort in SORTS {
        for order in ORDERS {
            let path = format!("/api/v1/users?sort={sort}&order={order}");
            series.push(
                measure(
                    &bench,
                    "users-first",
                    format!("{sort} {order}, first page"),
                    path,
                    |body| {
                        let n = body["items"].as_array().map_or(0, Vec::len);
                        ensure!(
                            n == 50 && body["next_cursor"].is_string(),
                            "a full first page"
                        );
                        Ok(())
                    },
                )
                .await?,
            );
        }
    }
    for sort in SORTS {
        for order in ORDERS {
            let (at, next) = deep_rows(&db, &bench.tenant_id, sort, order).await?;
            let cursor = hubkeep_api::pagination::encode_cursor(&serde_json::to_string(
                &json!({"s": sort, "o": order, "k": sort_key(sort, &at), "id": at.id}),
            )?);
            let path = format!("/api/v1/users?sort={sort}&order={order}&cursor={cursor}");
            let expected = next.id.to_string();
            series.push(
                measure(
                    &bench,
                    "users-deep",
                    format!("{sort} {order}, after row {DEEP_OFFSET}"),
                    path,
                    move |body| {
                        let first = body["items"][0]["user"]["id"].as_str().unwrap_or_default();
                        ensure!(
                            first == expected,
                            "the deep page starts at {expected}, not {first}"
                        );
                        Ok(())
                    },
                )
                .await?,
            );
        }
    }
    // The member's connections: the first page, and the tenth (walked to with the cursors).
    let mut cursors: Vec<String> = Vec::new();
    let mut seen = 0;
    loop {
        let path = match cursors.last() {
            Some(c) => format!("/api/v1/connections?cursor={c}"),
            None => "/api/v1/connections".to_owned(),
        };
        let page = get(&bench, &bench.server.url(&path)).await?;
        seen += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(next) => cursors.push(next.to_owned()),
            None => break,
        }
    }
    // The bench's own connection (created at start) counts too.
    ensure!(
        seen == MEMBER_OF + 1,
        "the member sees {seen} connections, not {}",
        MEMBER_OF + 1
    );
    let full_page = |body: &Value| {
        ensure!(
            body["items"].as_array().map_or(0, Vec::len) == 50,
            "a full page"
        );
        Ok(())
    };
    series.push(
        measure(
            &bench,
            "connections",
            format!("member of {MEMBER_OF}, first page"),
            "/api/v1/connections".to_owned(),
            full_page,
        )
        .await?,
    );
    let tenth = cursors.get(8).context("ten pages of connections")?;
    series.push(
        measure(
            &bench,
            "connections",
            format!("member of {MEMBER_OF}, page 10"),
            format!("/api/v1/connections?cursor={tenth}"),
            full_page,
        )
        .await?,
    );
    db.close().await?;
    let by_group: HashMap<&str, f64> = series.iter().fold(HashMap::new(), |mut m, s| {
        let worst = m.entry(s.group.as_str()).or_insert(0.0_f64);
        *worst = worst.max(s.p95_ms);
        m
    });
    println!("worst p95 by group: {by_group:?}");
    let out = ScaleResults {
        backend,
        users: USERS,
        connections: CONNECTIONS,
        member_of: MEMBER_OF,
        requests: REQUESTS,
        deep_offset: DEEP_OFFSET,
        seed_seconds,
        peak_rss_kib: bench.peak_rss_kib()?,
        series,
    };
    write_json(
        &results_dir().join(format!("scale-{}.json", backend.name())),
        &out,
    )?;
    Ok(())
}
