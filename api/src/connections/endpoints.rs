//! Disconnecting and reconnecting a connection's source or target (SPEC S4, S7). An
//! endpoint already in the asked-for state (and, on reconnect, with the same account label)
//! answers 200 and writes no entry.

use hubkeep_shared::ConnectionAction;
use hubkeep_shared::ConnectionId;
use hubkeep_shared::fields::{FieldErrors, Name};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde_json::json;

use super::guard;
use super::read::{EndpointSide, EndpointStatus};
use crate::activity::{Changes, actions};
use crate::db::{self, entities::connection_endpoints};
use crate::error::ApiError;
use crate::identity::Caller;
pub use hubkeep_shared::api::connections::ReconnectInput;

/// Parses a `{side}` path segment; anything else names nothing (404).
pub fn parse_side(side: &str) -> Result<EndpointSide, ApiError> {
    match side {
        "source" => Ok(EndpointSide::Source),
        "target" => Ok(EndpointSide::Target),
        _ => Err(ApiError::not_found()),
    }
}

/// `POST /api/v1/connections/{id}/endpoints/{side}/disconnect` (`to = Disconnected`, no
/// label) or `/reconnect` (`to = Connected`, optional new account label).
pub async fn set_endpoint(
    txn: &DatabaseTransaction,
    caller: &Caller,
    id: &ConnectionId,
    side: EndpointSide,
    to: EndpointStatus,
    account_label: Option<&str>,
) -> Result<(), ApiError> {
    let (action, code) = match to {
        EndpointStatus::Disconnected => (
            ConnectionAction::DisconnectEndpoint,
            actions::CONNECTION_ENDPOINT_DISCONNECTED,
        ),
        EndpointStatus::Connected => (
            ConnectionAction::ReconnectEndpoint,
            actions::CONNECTION_ENDPOINT_RECONNECTED,
        ),
    };
    let guarded = guard::for_write(txn, caller, id, &[action]).await?;
    let mut errors = FieldErrors::new();
    let account_label = account_label
        .and_then(|l| errors.check::<Name>("account_label", l))
        .map(String::from);
    ApiError::refuse_fields(errors, "The endpoint is not valid.")?;

    let model = &guarded.model;
    let endpoint = connection_endpoints::Entity::find_by_id((model.id.clone(), side))
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("connection {id} lacks an endpoint")))?;
    // The entry always shows the status; the label only when it changes.
    let mut changes = Changes::new();
    let label_changes = account_label
        .as_ref()
        .is_some_and(|label| changes.note("account_label", &endpoint.account_label, label));
    if endpoint.status == to && !label_changes {
        // Already so: nothing to write, nothing to record.
        return Ok(());
    }
    let status = json!({"before": endpoint.status, "after": to});
    let mut active: connection_endpoints::ActiveModel = endpoint.into();
    active.status = Set(to);
    active.changed_at = Set(db::now());
    active.changed_by = Set(Some(caller.user.id.clone()));
    if let Some(l) = account_label {
        active.account_label = Set(Some(l));
    }
    active.update(txn).await?;
    let mut details = changes.into_value();
    details["side"] = json!(side.wire_name());
    details["status"] = status;
    guard::record(txn, caller, model, code, details).await
}
