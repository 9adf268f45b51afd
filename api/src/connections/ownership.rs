//! Recovering a connection's ownership (SPEC S5.4, S7): an elevated user names a new owner
//! when the owner cannot transfer it (gone from the PSA, or without hub access).

use chrono::{DateTime, Utc};
use hubkeep_shared::{ConnectionId, InvitationId};
use hubkeep_shared::{ConnectionRole, HubAccess};
use sea_orm::{ColumnTrait, DatabaseTransaction};
use serde_json::json;

use super::guard;
use super::members::{
    close_pending, conflict, corrupt, invalid, move_owner, record, user_in_tenant, user_ref,
};
use crate::activity::{Target, actions};
use crate::db::{self, entities::invitations};
use crate::error::ApiError;
use crate::hub_access::access_of;
use crate::identity::Caller;
pub use hubkeep_shared::api::members::{InvitationStatus, OwnershipRecovered, RecoverOwnership};

/// `POST /api/v1/connections/{id}/recover-ownership` (SPEC S5.4). The caller's elevated
/// access is checked by the route; they need no role on the connection. In the handler's
/// transaction (the connection's lock first).
pub async fn recover(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    input: RecoverOwnership,
) -> Result<OwnershipRecovered, ApiError> {
    guard::lock(txn, caller, id).await?;
    let model = guard::in_tenant(txn, caller, id).await?;
    let previous = user_in_tenant(txn, &caller.tenant_id, &model.owner_user_id)
        .await?
        .ok_or_else(|| corrupt("connection owner", &model.owner_user_id))?;
    if access_of(txn, &previous).await?.level != HubAccess::None {
        return Err(conflict(
            "The owner still has hub access: only they can transfer ownership.",
        ));
    }
    if input.retain_role == Some(ConnectionRole::Owner) {
        return Err(invalid(
            "retain_role",
            "must be business_admin, it_admin or read_only",
        ));
    }
    let owner = user_in_tenant(txn, &caller.tenant_id, &input.user_id)
        .await?
        .ok_or_else(|| invalid("user_id", "is not a hub user of this tenant"))?;
    if access_of(txn, &owner).await?.level == HubAccess::None {
        return Err(invalid("user_id", "the new owner must have hub access"));
    }
    let now = db::now();
    move_owner(
        txn,
        caller,
        &model,
        &previous.id,
        &owner.id,
        input.retain_role,
        now,
    )
    .await?;
    let stale = revoke_pending_transfers(txn, caller, &model.id, now).await?;
    // The new owner is told (SPEC S15), unless they recovered it for themselves.
    if owner.id != caller.user.id {
        crate::notify::enqueue(
            txn,
            &caller.tenant_id,
            crate::notify::messages::ownership_recovered(&model, &owner, &caller.user.display_name),
        )
        .await?;
    }
    record(
        txn,
        caller,
        &caller.actor(),
        &model.id,
        actions::CONNECTION_OWNERSHIP_RECOVERED,
        Target::new("connection", &model.id, &model.name),
        json!({
            "from_user_id": previous.id,
            "to_user_id": owner.id,
            "retain_role": input.retain_role,
            "revoked_invitation_ids": stale,
        }),
    )
    .await?;
    Ok(OwnershipRecovered {
        connection_id: model.id,
        previous_owner: user_ref(&previous),
        owner: user_ref(&owner),
        retain_role: input.retain_role,
        revoked_invitation_ids: stale,
    })
}

/// Revokes the previous owner's pending transfer (it can no longer happen); the ids revoked.
async fn revoke_pending_transfers(
    txn: &DatabaseTransaction,
    caller: &Caller,
    connection_id: &ConnectionId,
    now: DateTime<Utc>,
) -> Result<Vec<InvitationId>, ApiError> {
    let owner = invitations::Column::Role.eq(ConnectionRole::Owner);
    let by = Some(&caller.user.id);
    let closed = close_pending(
        txn,
        connection_id,
        owner,
        InvitationStatus::Revoked,
        now,
        by,
    )
    .await?;
    Ok(closed.into_iter().map(|i| i.id).collect())
}
