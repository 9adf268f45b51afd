//! The Users tab (SPEC S2, S8.1).

use hubkeep_shared::UserId;
use hubkeep_shared::api::{Page, RefreshSummary, UpdatedUser, UserListItem, UserPatch, UserQuery};

use super::{ClientError, get, patch, post_empty, seg, with_query};

/// `GET /api/v1/users`
pub async fn list(query: &UserQuery) -> Result<Page<UserListItem>, ClientError> {
    get(&with_query("/api/v1/users", query)).await
}

/// `PATCH /api/v1/users/{id}`
pub async fn update(id: &UserId, changes: &UserPatch) -> Result<UpdatedUser, ClientError> {
    patch(&format!("/api/v1/users/{}", seg(id)), changes).await
}

/// `POST /api/v1/users/refresh`
pub async fn refresh() -> Result<RefreshSummary, ClientError> {
    post_empty("/api/v1/users/refresh").await
}

/// `GET /api/v1/people`: the people picker's search (SPEC S16).
pub async fn people(
    query: &hubkeep_shared::api::PeopleQuery,
) -> Result<hubkeep_shared::api::Items<hubkeep_shared::api::Person>, ClientError> {
    get(&with_query("/api/v1/people", query)).await
}
