//! Autotask webhook subscriptions (SPEC S12): `POST|DELETE /api/v1/psa/webhook` and the
//! `webhook` part of `GET /api/v1/psa/status`.
//!
//! Subscribing asks Autotask whether Resources offer callouts (`supportsWebhookCallouts`),
//! creates a `ResourceWebhooks` row whose URLs are under `[http] public_url` and whose secret
//! key is 256 random bits made here, and stores the key sealed (SPEC S14). The PSA calls are
//! made outside any transaction; the row and its activity entry commit together under the
//! tenant lock, and a subscription that loses a race (or whose commit fails) is deleted at
//! Autotask again.

use hubkeep_shared::api::{PsaProvider, WebhookState, WebhookStatus};
use hubkeep_shared::{HubAction, ProblemCode};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait, QueryFilter as _, Set,
    TransactionTrait as _,
};
use serde_json::json;

use crate::AppState;
use crate::activity::{self, Target, actions};
use crate::db::{self, SecretColumn, SecretText, entities::psa_webhooks};
use crate::error::ApiError;
use crate::identity::Caller;
use crate::psa::Priority;
use crate::psa::autotask::AutotaskPsa;
use crate::psa::registry::settings_of;
use crate::psa::webhooks::NewWebhook;

/// The name the subscription has in Autotask (at most 50 characters).
const WEBHOOK_NAME: &str = "Hubkeep hub access";

/// Where Autotask sends a tenant's callouts, and its deactivation notices.
pub fn callback_urls(public_url: &str, tenant_id: &str) -> (String, String) {
    let callback = format!(
        "{}/api/v1/psa/autotask/webhooks/{tenant_id}",
        public_url.trim().trim_end_matches('/')
    );
    let deactivation = format!("{callback}/deactivated");
    (callback, deactivation)
}

/// The `webhook` part of the status: from the stored subscription, if any.
pub async fn status_of(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: &str,
    provider: PsaProvider,
) -> Result<WebhookStatus, ApiError> {
    let row = psa_webhooks::Entity::find_by_id(tenant_id.to_owned())
        .one(db)
        .await?;
    Ok(status_from(row, provider))
}

fn status_from(row: Option<psa_webhooks::Model>, provider: PsaProvider) -> WebhookStatus {
    match row {
        Some(row) => WebhookStatus {
            state: if row.state == psa_webhooks::ACTIVE {
                WebhookState::Active
            } else {
                WebhookState::Deactivated
            },
            last_callout_at: row.last_callout_at,
            subscribed_at: Some(row.subscribed_at),
            callback_url: Some(row.callback_url),
        },
        None => WebhookStatus {
            state: match provider {
                PsaProvider::Directory => WebhookState::Unsupported,
                PsaProvider::Autotask => WebhookState::NotSubscribed,
            },
            last_callout_at: None,
            subscribed_at: None,
            callback_url: None,
        },
    }
}

fn unsupported(detail: &str) -> ApiError {
    ApiError::new(ProblemCode::WebhooksUnsupported, detail)
}

/// The tenant's Autotask client, or 409 `webhooks_unsupported` for the directory provider.
async fn autotask_of(state: &AppState, tenant_id: &str) -> Result<AutotaskPsa, ApiError> {
    let psa = settings_of(&state.db, tenant_id).await?;
    state
        .psa
        .autotask(&psa, Priority::Foreground)?
        .ok_or_else(|| {
            unsupported(
                "The directory file offers no webhooks; the reconciliation job keeps the hub \
                 current.",
            )
        })
}

/// `POST /api/v1/psa/webhook`: subscribes, or answers the live subscription unchanged.
pub async fn subscribe(state: &AppState, caller: &Caller) -> Result<WebhookStatus, ApiError> {
    caller.require(HubAction::EditSettings)?;
    let tenant_id = caller.tenant_id.as_str();
    let Some(public_url) = state.settings.http.public_url.as_deref() else {
        return Err(ApiError::new(
            ProblemCode::PublicUrlMissing,
            "Autotask needs an address to call: set [http] public_url to the address the PSA \
             reaches this server at.",
        ));
    };
    let autotask = autotask_of(state, tenant_id).await?;
    let existing = psa_webhooks::Entity::find_by_id(tenant_id.to_owned())
        .one(&state.db)
        .await?;
    if let Some(live) = existing.filter(|r| r.state == psa_webhooks::ACTIVE) {
        return Ok(status_from(Some(live), PsaProvider::Autotask));
    }
    if !autotask.resources_support_webhooks().await? {
        return Err(unsupported(
            "Autotask does not offer webhook callouts for Resources \
             (Resources/entityInformation: supportsWebhookCallouts is false); the \
             reconciliation job keeps the hub current.",
        ));
    }
    let secret = SecretText::new(crate::identity::secret::random_secret());
    let (callback, deactivation) = callback_urls(public_url, tenant_id);
    let webhook_id = autotask
        .create_resource_webhook(&NewWebhook {
            name: WEBHOOK_NAME,
            webhook_url: &callback,
            deactivation_url: &deactivation,
            secret_key: secret.expose_secret(),
        })
        .await?;
    let stored = store(state, caller, webhook_id, &secret, &callback).await;
    // What Autotask no longer needs: this subscription if it was not stored, else the
    // deactivated one it replaces.
    let orphan = match &stored {
        Ok(replaced) => *replaced,
        Err(_) => Some(webhook_id),
    };
    if let Some(id) = orphan {
        forget(&autotask, id).await;
    }
    stored?;
    status_of(&state.db, tenant_id, PsaProvider::Autotask).await
}

async fn forget(autotask: &AutotaskPsa, id: i64) {
    if let Err(e) = autotask.delete_resource_webhook(id).await {
        tracing::warn!(error = %e, webhook = id, "could not delete an unused Autotask webhook");
    }
}

/// Stores the new subscription with its activity entry; `Ok(Some(id))` when it replaces the
/// deactivated subscription `id`. `Err`: not stored (also when another request subscribed
/// first), so the caller deletes the new webhook at Autotask.
async fn store(
    state: &AppState,
    caller: &Caller,
    webhook_id: i64,
    secret: &SecretText,
    callback: &str,
) -> Result<Option<i64>, ApiError> {
    let tenant_id = caller.tenant_id.as_str();
    let txn = state.db.begin().await?;
    db::lock_tenant(&txn, tenant_id).await?;
    let caller = caller.recheck(&txn).await?;
    caller.require(HubAction::EditSettings)?;
    let existing = psa_webhooks::Entity::find_by_id(tenant_id.to_owned())
        .one(&txn)
        .await?;
    let replaced = match existing {
        Some(row) if row.state == psa_webhooks::ACTIVE => {
            return Err(ApiError::new(
                ProblemCode::Conflict,
                "Another request subscribed at the same time; that subscription is live.",
            ));
        }
        Some(row) => {
            psa_webhooks::Entity::delete_by_id(row.tenant_id.clone())
                .exec(&txn)
                .await?;
            Some(row.webhook_id)
        }
        None => None,
    };
    psa_webhooks::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        webhook_id: Set(webhook_id),
        secret_key: Set(state
            .secrets
            .seal(SecretColumn::PsaWebhookSecret, tenant_id, secret)),
        callback_url: Set(callback.to_owned()),
        state: Set(psa_webhooks::ACTIVE.to_owned()),
        subscribed_by: Set(Some(caller.user.id.to_string())),
        subscribed_at: Set(db::now()),
        last_callout_at: Set(None),
        deactivated_at: Set(None),
    }
    .insert(&txn)
    .await?;
    activity::record_by(
        &txn,
        &caller,
        actions::PSA_WEBHOOK_SUBSCRIBED,
        Target::new("tenant", tenant_id, "Autotask webhook"),
        None,
        json!({ "webhook_id": webhook_id, "callback_url": callback, "replaced": replaced }),
    )
    .await?;
    txn.commit().await?;
    Ok(replaced)
}

/// `DELETE /api/v1/psa/webhook`: removes the subscription at Autotask, then here. Without
/// one, nothing happens (204 all the same).
pub async fn unsubscribe(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    caller.require(HubAction::EditSettings)?;
    let tenant_id = caller.tenant_id.as_str();
    let Some(row) = psa_webhooks::Entity::find_by_id(tenant_id.to_owned())
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    // A tenant that moved to the directory provider has no Autotask to tell; any other
    // failure keeps the row, so the hub never forgets a webhook Autotask may still have.
    let psa = settings_of(&state.db, tenant_id).await?;
    if let Some(autotask) = state.psa.autotask(&psa, Priority::Foreground)? {
        autotask.delete_resource_webhook(row.webhook_id).await?;
    }
    let txn = state.db.begin().await?;
    db::lock_tenant(&txn, tenant_id).await?;
    let caller = caller.recheck(&txn).await?;
    caller.require(HubAction::EditSettings)?;
    // Only the subscription just deleted at Autotask: one a concurrent request made since
    // stays.
    let deleted = psa_webhooks::Entity::delete_many()
        .filter(psa_webhooks::Column::TenantId.eq(tenant_id))
        .filter(psa_webhooks::Column::WebhookId.eq(row.webhook_id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected > 0 {
        activity::record_by(
            &txn,
            &caller,
            actions::PSA_WEBHOOK_UNSUBSCRIBED,
            Target::new("tenant", tenant_id, "Autotask webhook"),
            None,
            json!({ "webhook_id": row.webhook_id }),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
