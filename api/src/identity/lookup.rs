//! The one query authentication makes per request (SPEC S3.3): the credential's row, its user,
//! the user's security level and whether that level is in the Access-tab set, joined. Nothing
//! is cached between requests, so a deactivation, a revoked session or token, or a changed
//! level is seen by the very next request on every instance.

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryResult, Statement,
};

use crate::db::entities::{api_tokens, security_levels, sessions, users};

/// A credential's row and, when it still exists in the same tenant, its user with the inputs
/// of their access decision.
#[derive(Debug, Clone)]
pub struct Found<T> {
    pub credential: T,
    pub user: Option<UserAccess>,
}

/// A user and the inputs [`crate::hub_access::decide`] takes besides the user.
#[derive(Debug, Clone)]
pub struct UserAccess {
    pub user: users::Model,
    pub level: Option<security_levels::Model>,
    pub level_in_elevated_set: bool,
}

impl UserAccess {
    pub fn decision(&self) -> hubkeep_shared::AccessDecision {
        crate::hub_access::decide(
            &self.user,
            self.level.as_ref().map(security_levels::Model::facts),
            self.level_in_elevated_set,
        )
    }
}

/// `"a"."col" AS "a_col", …` for every column of an entity.
pub(crate) fn columns<E: EntityTrait>(alias: &str) -> String {
    E::Column::iter()
        .map(|c| {
            let name = c.as_str();
            format!(r#""{alias}"."{name}" AS "{alias}_{name}""#)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The joins from a credential row `c` (with `user_id` and `tenant_id`) to its user, level and
/// Access-tab entry; the user must be in the credential's tenant.
const JOINS: &str = r#"
LEFT JOIN "users" "u" ON "u"."id" = "c"."user_id" AND "u"."tenant_id" = "c"."tenant_id"
LEFT JOIN "security_levels" "l" ON "l"."tenant_id" = "u"."tenant_id" AND "l"."id" = "u"."security_level_id"
LEFT JOIN "elevated_levels" "e" ON "e"."tenant_id" = "u"."tenant_id" AND "e"."level_id" = "u"."security_level_id"
"#;

fn select<C: EntityTrait>(table: &str, key: &str, backend: DbBackend) -> String {
    let placeholder = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    format!(
        r#"SELECT {}, {}, {}, "e"."level_id" AS "e_level_id" FROM "{table}" "c" {JOINS} WHERE "c"."{key}" = {placeholder}"#,
        columns::<C>("c"),
        columns::<users::Entity>("u"),
        columns::<security_levels::Entity>("l"),
    )
}

fn found<T: FromQueryResult>(row: &QueryResult) -> Result<Found<T>, DbErr> {
    let credential = T::from_query_result(row, "c_")?;
    let user = match row.try_get::<Option<String>>("", "u_id")? {
        None => None,
        Some(_) => Some(UserAccess {
            user: users::Model::from_query_result(row, "u_")?,
            level: match row.try_get::<Option<i64>>("", "l_id")? {
                None => None,
                Some(_) => Some(security_levels::Model::from_query_result(row, "l_")?),
            },
            level_in_elevated_set: row.try_get::<Option<i64>>("", "e_level_id")?.is_some(),
        }),
    };
    Ok(Found { credential, user })
}

async fn one<C, T>(
    db: &impl ConnectionTrait,
    table: &str,
    key: &str,
    value: &str,
) -> Result<Option<Found<T>>, DbErr>
where
    C: EntityTrait,
    T: FromQueryResult,
{
    let backend = db.get_database_backend();
    let statement =
        Statement::from_sql_and_values(backend, select::<C>(table, key, backend), [value.into()]);
    db.query_one_raw(statement)
        .await?
        .map(|row| found(&row))
        .transpose()
}

/// A session by id, with its user.
pub async fn session(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<Found<sessions::Model>>, DbErr> {
    one::<sessions::Entity, sessions::Model>(db, "sessions", "id", id).await
}

/// An API token by the hash of its secret, with its user (engine tokens have none).
pub async fn api_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<Found<api_tokens::Model>>, DbErr> {
    one::<api_tokens::Entity, api_tokens::Model>(db, "api_tokens", "token_hash", token_hash).await
}
