//! The people picker's search (SPEC S16): hub users found by name or email, for whoever
//! chooses a person — in an invitation, an ownership transfer or recovery, an activity
//! filter. Unlike the Users tab it is open to inviters who are not elevated, so it answers
//! who a person is and nothing about their access.

use std::collections::BTreeMap;

use hubkeep_shared::api::{Items, PeopleQuery, Person};
use hubkeep_shared::fields::{FieldRule as _, PeopleSearch};
use hubkeep_shared::{
    ConnectionId, ConnectionRole, HubAccess, HubAction, ProblemCode, UserId, can_invite_anyone,
    hub_allows,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::AppState;
use crate::access::search::{invalid_query, name_or_email_contains};
use crate::db::entities::{role_assignments, users};
use crate::error::ApiError;
use crate::hub_access::access_rank;
use crate::identity::Caller;

/// Refuses a caller who may not search people: allowed are elevated users (the hub action
/// behind ownership recovery, `govern_connections`) and anyone holding, on some connection
/// of the tenant, a set of roles that may invite to at least one role
/// ([`can_invite_anyone`]: an owner, business admin or IT admin). The connection's state does
/// not matter — a cancelled connection's inviter may still search — which keeps the rule one
/// lookup; what they could then do with a person is checked where they do it. Everyone else
/// gets the refusal of an elevated-only hub action, 403 `elevated_access_required`. An API
/// token acts as its user (a `read` token may search: it is a GET).
pub async fn require_searcher(db: &impl ConnectionTrait, caller: &Caller) -> Result<(), ApiError> {
    if hub_allows(caller.access_level(), HubAction::GovernConnections)
        || invites_somewhere(db, caller).await?
    {
        return Ok(());
    }
    Err(ApiError::new(
        ProblemCode::ElevatedAccessRequired,
        "Searching people needs elevated hub access, or a role on a connection that may \
         invite someone.",
    ))
}

/// Whether the caller's roles on any one connection of their tenant may invite to some role.
async fn invites_somewhere(db: &impl ConnectionTrait, caller: &Caller) -> Result<bool, ApiError> {
    let held: Vec<(ConnectionId, ConnectionRole)> = role_assignments::Entity::find()
        .select_only()
        .column(role_assignments::Column::ConnectionId)
        .column(role_assignments::Column::Role)
        .filter(role_assignments::Column::TenantId.eq(&caller.tenant_id))
        .filter(role_assignments::Column::UserId.eq(&caller.user.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut by_connection: BTreeMap<ConnectionId, Vec<ConnectionRole>> = BTreeMap::new();
    for (connection, role) in held {
        by_connection.entry(connection).or_default().push(role);
    }
    Ok(by_connection.values().any(|roles| can_invite_anyone(roles)))
}

/// The `limit` asked for, the default when absent, or a 422 on `limit` when out of range.
fn people_limit(limit: Option<u64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(PeopleQuery::DEFAULT_LIMIT),
        Some(n) if (1..=PeopleQuery::MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(invalid_query(
            "limit",
            &format!("must be between 1 and {}", PeopleQuery::MAX_LIMIT),
        )),
    }
}

/// `GET /api/v1/people`: the people of the caller's tenant who could hold a connection role
/// (active, hub access other than `none`) whose display name or email contains `q`
/// case-insensitively (`%` and `_` match themselves), sorted by display name
/// (case-insensitively, as the Users tab sorts names), then id; at most `limit`, no paging.
/// Read-only: no activity entry. The access filter reads the stored access level, which is
/// rewritten in the same transaction as every change of its inputs.
pub async fn search_people(
    state: &AppState,
    caller: &Caller,
    query: PeopleQuery,
) -> Result<Items<Person>, ApiError> {
    require_searcher(&state.reader, caller).await?;
    let q = PeopleSearch::parse(&query.q).map_err(|message| invalid_query("q", &message))?;
    let limit = people_limit(query.limit)?;
    // Only the three columns a `Person` shows are read: nothing else can reach the answer.
    let rows: Vec<(UserId, String, String)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DisplayName)
        .column(users::Column::Email)
        .filter(users::Column::TenantId.eq(&caller.tenant_id))
        .filter(users::Column::Active.eq(true))
        .filter(users::Column::AccessRank.gt(access_rank(HubAccess::None)))
        .filter(name_or_email_contains(q.as_str()))
        .order_by_asc(users::Column::NameKey)
        .order_by_asc(users::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&state.reader)
        .await?;
    Ok(Items {
        items: rows
            .into_iter()
            .map(|(id, display_name, email)| Person {
                id,
                display_name,
                email,
            })
            .collect(),
    })
}
