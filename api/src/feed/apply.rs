//! Applying what the PSA answered to one hub user (SPEC S12), for the reconciliation job
//! ([`super::reconcile`]) and Autotask's callouts ([`super::callout`]) alike: the same code
//! as the Users tab's refresh (`access::users::psa_answer`), a `user.psa_changed` entry, and
//! every credential withdrawn when access becomes `none`.

use std::collections::HashMap;

use hubkeep_shared::api::ReconcileSummary;
use hubkeep_shared::{AccessDecision, HubAccess};
use sea_orm::EntityTrait as _;
use serde_json::{Map, Value, json};

use crate::access::users::{AccessContext, psa_answer};
use crate::activity::{self, Actor, RequestMeta, Target, actions};
use crate::db::{
    self,
    entities::{security_levels, users},
};
use crate::error::ApiError;
use crate::hub_access::{Why, stored_access, withdraw_credentials};
use crate::psa::PsaResource;

/// A summary with nothing applied yet, of a run starting `at`.
pub(super) fn nothing_yet(at: chrono::DateTime<chrono::Utc>) -> ReconcileSummary {
    ReconcileSummary {
        users_checked: 0,
        changes_applied: 0,
        access_withdrawn: 0,
        sessions_revoked: 0,
        api_tokens_revoked: 0,
        started_at: at,
        finished_at: at,
    }
}

/// What the PSA answered.
pub(crate) struct Read<'a> {
    pub(super) resources: &'a HashMap<i64, PsaResource>,
    pub(super) levels: &'a HashMap<i64, security_levels::Model>,
}

/// What made the hub look at a user again: `cause` of its `user.psa_changed` entry.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cause {
    Reconcile,
    Webhook,
}

impl Cause {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Reconcile => "reconcile",
            Self::Webhook => "webhook",
        }
    }
}

/// Compares one user (read in `txn`, under the tenant lock) with the PSA's answer and
/// applies what differs: the snapshot and access stamp, a `user.psa_changed` entry, and for
/// access `none` every session and API token revoked.
pub(super) async fn apply_user(
    txn: &impl sea_orm::ConnectionTrait,
    tenant_id: &str,
    (user, read): (&users::Model, &Read<'_>),
    context: &AccessContext,
    cause: Cause,
    summary: &mut ReconcileSummary,
) -> Result<(), ApiError> {
    let meta = RequestMeta::system();
    let resource = read.resources.get(&user.psa_resource_id);
    let Some((next, decision)) = psa_answer(user, resource, read.levels, context, db::now()) else {
        return Ok(());
    };
    let active: users::ActiveModel = next.clone().into();
    users::Entity::update(sea_orm::ActiveModelTrait::reset_all(active))
        .exec(txn)
        .await?;
    activity::record(
        txn,
        activity::Entry {
            tenant_id,
            actor: &Actor::System,
            action: actions::USER_PSA_CHANGED,
            target: Target::new("user", &next.id, &next.display_name),
            connection_id: None,
            details: psa_changed(user, &next, decision, cause),
            meta: &meta,
        },
    )
    .await?;
    summary.changes_applied += 1;
    if decision.level == HubAccess::None {
        let withdrawn =
            withdraw_credentials(txn, &next, Why::PsaChanged, &Actor::System, &meta).await?;
        if stored_access(user) != HubAccess::None {
            summary.access_withdrawn += 1;
        }
        summary.sessions_revoked += u64::try_from(withdrawn.sessions.len()).unwrap_or(0);
        summary.api_tokens_revoked += u64::try_from(withdrawn.api_tokens.len()).unwrap_or(0);
    }
    Ok(())
}

/// `user.psa_changed` details: the fields that changed (before/after) and the access level.
fn psa_changed(
    before: &users::Model,
    after: &users::Model,
    decision: AccessDecision,
    cause: Cause,
) -> Value {
    let mut changes = Map::new();
    let fields = [
        (
            "display_name",
            json!(before.display_name),
            json!(after.display_name),
        ),
        ("email", json!(before.email), json!(after.email)),
        ("user_name", json!(before.user_name), json!(after.user_name)),
        (
            "resource_active",
            json!(before.resource_active),
            json!(after.resource_active),
        ),
        (
            "security_level_id",
            json!(before.security_level_id),
            json!(after.security_level_id),
        ),
        (
            "security_level_name",
            json!(before.security_level_name),
            json!(after.security_level_name),
        ),
    ];
    for (name, was, now) in fields {
        if was != now {
            changes.insert(name.into(), json!({ "before": was, "after": now }));
        }
    }
    json!({
        "cause": cause.as_str(),
        "changes": changes,
        "access_level": { "before": stored_access(before), "after": decision.level },
    })
}
