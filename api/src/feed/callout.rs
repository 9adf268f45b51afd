//! Autotask's webhook callouts (SPEC S12): `POST /api/v1/psa/autotask/webhooks/{tenant_id}`
//! and its `/deactivated` sibling.
//!
//! A callout is trusted only through its `X-Hook-Signature` (`sha1=` and the base64
//! HMAC-SHA1 of the raw body under the subscription's secret key, compared in constant
//! time): no session, no token. A tenant without a subscription is 404, a bad signature 401,
//! and neither changes anything. A callout is recorded by (`Guid`, `SequenceNumber`) in the
//! transaction that accepts it, so a replay is answered but not applied again. The answer
//! goes out right after that commit; the resource is then re-read from Autotask (the
//! payload's `Fields` are never trusted) and applied by the reconciliation's own code, in a
//! task of its own, so Autotask's 10-second timeout is never near.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use hubkeep_shared::FieldError;
use hubkeep_shared::ProblemCode;
use hubkeep_shared::api::{AutotaskCallout, CalloutReceipt};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait as _};
use serde_json::json;

use super::apply::{Cause, Read, apply_user, nothing_yet};
use crate::AppState;
use crate::access::users::AccessContext;
use crate::activity::{self, Actor, RequestMeta, Target, actions};
use crate::db::{
    self, SecretColumn,
    entities::{psa_webhook_callouts, psa_webhooks, users},
};
use crate::error::ApiError;
use crate::psa::Priority;
use crate::psa::registry::settings_of;

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

fn bad_signature() -> ApiError {
    ApiError::new(
        ProblemCode::WebhookSignatureInvalid,
        "X-Hook-Signature is missing or is not the signature of this body; nothing was changed.",
    )
}

/// The tenant's subscription, once `signature` is found to sign `body` with its key: 404
/// first when there is none (an unknown tenant and one without a subscription look the
/// same), then 401 for a bad signature.
async fn signed_for(
    state: &AppState,
    tenant_id: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<psa_webhooks::Model, ApiError> {
    let row = psa_webhooks::Entity::find_by_id(tenant_id.to_owned())
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    verify(state, &row, signature, body)?;
    Ok(row)
}

/// Checks `signature` (`sha1=<base64>`, the prefix optional) against the body.
fn verify(
    state: &AppState,
    row: &psa_webhooks::Model,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    let signature = signature.ok_or_else(bad_signature)?.trim();
    let encoded = match signature.split_once('=') {
        Some((algorithm, rest)) if algorithm.eq_ignore_ascii_case("sha1") => rest,
        _ => signature,
    };
    let given = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad_signature())?;
    let key = state.secrets.open(
        SecretColumn::PsaWebhookSecret,
        &row.tenant_id,
        &row.secret_key,
    )?;
    let mut mac = HmacSha1::new_from_slice(key.expose_secret().as_bytes())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("HMAC key: {e}")))?;
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| bad_signature())
}

fn parse(body: &[u8]) -> Result<AutotaskCallout, ApiError> {
    let invalid = |message: String| {
        ApiError::validation(
            "The callout is not an Autotask Resource callout.",
            vec![FieldError {
                field: "body".into(),
                message,
            }],
        )
    };
    let callout: AutotaskCallout =
        serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    if !callout.entity_type.eq_ignore_ascii_case("Resource") {
        return Err(invalid(format!(
            "EntityType {:?} is not Resource",
            callout.entity_type
        )));
    }
    if callout.guid.is_empty() || callout.guid.len() > 64 {
        return Err(invalid("Guid must have 1 to 64 characters".into()));
    }
    Ok(callout)
}

/// `POST /api/v1/psa/autotask/webhooks/{tenant_id}`.
pub async fn receive(
    state: &AppState,
    tenant_id: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<CalloutReceipt, ApiError> {
    signed_for(state, tenant_id, signature, body).await?;
    let callout = parse(body)?;
    let now = db::now();
    let txn = state.db.begin().await?;
    let inserted = psa_webhook_callouts::Entity::insert(psa_webhook_callouts::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        guid: Set(callout.guid.clone()),
        sequence_number: Set(callout.sequence_number),
        resource_id: Set(callout.id),
        received_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            psa_webhook_callouts::Column::TenantId,
            psa_webhook_callouts::Column::Guid,
            psa_webhook_callouts::Column::SequenceNumber,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let accepted = inserted > 0;
    if accepted {
        psa_webhooks::Entity::update_many()
            .col_expr(psa_webhooks::Column::LastCalloutAt, now.into())
            .filter(psa_webhooks::Column::TenantId.eq(tenant_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if accepted {
        let (state, tenant_id, resource_id) = (state.clone(), tenant_id.to_owned(), callout.id);
        tokio::spawn(async move {
            // One apply at a time per tenant on this instance, each reading the PSA inside
            // its turn: a later callout never has its answer overwritten by an earlier one
            // that read the PSA before it and committed after.
            let turn = tenant_turn(&tenant_id);
            let _turn = turn.lock().await;
            if let Err(e) = apply_resource(&state, &tenant_id, resource_id).await {
                tracing::warn!(tenant = tenant_id, resource_id, error = %e,
                    "could not apply an Autotask callout; the tenant's reconciliation is due now");
                if let Err(e) = super::lease::due_now(&state.db, &tenant_id).await {
                    tracing::warn!(tenant = tenant_id, error = %e, "could not mark it due");
                }
            }
        });
    }
    Ok(CalloutReceipt { accepted })
}

/// The lock that orders a tenant's callout applies on this instance.
fn tenant_turn(tenant_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    static TURNS: OnceLock<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        OnceLock::new();
    let mut turns = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(turns.entry(tenant_id.to_owned()).or_default())
}

/// Re-reads one resource (and the levels) from the PSA and applies it to its hub user.
async fn apply_resource(
    state: &AppState,
    tenant_id: &str,
    resource_id: i64,
) -> Result<(), ApiError> {
    let user = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::PsaResourceId.eq(resource_id))
        .one(&state.db)
        .await?;
    let Some(user) = user else {
        return Ok(());
    };
    let psa = settings_of(&state.db, tenant_id).await?;
    let levels = state.psa.levels_by_id(&state.db, &psa).await?;
    let provider = state.psa.provider(&psa, Priority::Background)?;
    let resources: HashMap<i64, _> = provider
        .resource(resource_id)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let read = Read {
        resources: &resources,
        levels: &levels,
    };
    // Only what `apply_user` counts; nobody reads it after.
    let mut summary = nothing_yet(db::now());
    let txn = state.db.begin().await?;
    db::lock_tenant(&txn, tenant_id).await?;
    let context = AccessContext::load(&txn, tenant_id).await?;
    if let Some(user) = users::Entity::find_by_id(user.id).one(&txn).await? {
        apply_user(
            &txn,
            tenant_id,
            (&user, &read),
            &context,
            Cause::Webhook,
            &mut summary,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `POST /api/v1/psa/autotask/webhooks/{tenant_id}/deactivated`: Autotask deactivated (or
/// deleted) the subscription; the status shows it and the reconciliation carries on alone.
pub async fn deactivated(
    state: &AppState,
    tenant_id: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<CalloutReceipt, ApiError> {
    let row = signed_for(state, tenant_id, signature, body).await?;
    let txn = state.db.begin().await?;
    // Only the subscription the notice was signed for, and only once; one removed or
    // replaced meanwhile is left alone.
    let changed = psa_webhooks::Entity::update_many()
        .col_expr(
            psa_webhooks::Column::State,
            psa_webhooks::DEACTIVATED.into(),
        )
        .col_expr(psa_webhooks::Column::DeactivatedAt, Some(db::now()).into())
        .filter(psa_webhooks::Column::TenantId.eq(tenant_id))
        .filter(psa_webhooks::Column::WebhookId.eq(row.webhook_id))
        .filter(psa_webhooks::Column::State.eq(psa_webhooks::ACTIVE))
        .exec(&txn)
        .await?
        .rows_affected;
    if changed == 0 {
        return Ok(CalloutReceipt { accepted: false });
    }
    activity::record(
        &txn,
        activity::Entry {
            tenant_id,
            actor: &Actor::System,
            action: actions::PSA_WEBHOOK_DEACTIVATED,
            target: Target::new("tenant", tenant_id, "Autotask webhook"),
            connection_id: None,
            details: json!({ "webhook_id": row.webhook_id }),
            meta: &RequestMeta::system(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(CalloutReceipt { accepted: true })
}
