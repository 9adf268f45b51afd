//! Autotask's webhook entities, for Resources (SPEC S12): whether Autotask offers them,
//! subscribing a `ResourceWebhooks` callout with its `Fields`, and removing it.
//!
//! Autotask documents webhooks for Companies, Contacts, Configuration Items, Tickets and
//! Ticket Notes; for Resources it documents none yet, so `Resources/entityInformation`
//! answers `supportsWebhookCallouts: false` and the hub relies on reconciliation. These calls
//! follow the documented `<EntityName>Webhooks` / `<EntityName>WebhookFields` contract so the
//! day Autotask offers Resource webhooks, subscribing works (docs/decisions.md says what the
//! documentation leaves open, such as how a REST client learns a field's `FieldID`).

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::PsaError;
use super::autotask::{AutotaskPsa, join};

/// The Resource fields whose change calls the hub back, as `(name, FieldID)`: the active
/// flag and the security level (what decides hub access). Autotask's documentation names
/// `FieldID` "the internal Autotask ID for the system field" without saying how a REST
/// client reads it; these are the ids the simulator accepts and a real database must be
/// checked against the day Resources offer webhooks.
pub const SUBSCRIBED_FIELDS: [(&str, i64); 2] = [("isActive", 1), ("securityLevelID", 2)];

/// What a new subscription is made of.
#[derive(Debug)]
pub struct NewWebhook<'a> {
    pub name: &'a str,
    pub webhook_url: &'a str,
    pub deactivation_url: &'a str,
    /// At most 64 characters (Autotask's limit).
    pub secret_key: &'a str,
}

#[derive(Deserialize)]
struct EntityInformation {
    info: Info,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    #[serde(default)]
    supports_webhook_callouts: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    item_id: i64,
}

impl AutotaskPsa {
    /// `GET Resources/entityInformation`: whether Autotask offers callouts for Resources.
    pub async fn resources_support_webhooks(&self) -> Result<bool, PsaError> {
        let what = "Autotask Resources entityInformation";
        let url = join(&self.rest_base().await?, "Resources/entityInformation")?;
        let answer = self.send(Method::GET, url, None, true, what).await?;
        let info: EntityInformation = self.success(answer, what, Some("Resources"))?;
        Ok(info.info.supports_webhook_callouts)
    }

    /// `POST ResourceWebhooks`, then one `POST ResourceWebhooks/{id}/Fields` per
    /// [`SUBSCRIBED_FIELDS`] (a webhook without a subscribed field never calls). If a field
    /// cannot be added, the webhook is deleted again and the error returned.
    pub async fn create_resource_webhook(&self, new: &NewWebhook<'_>) -> Result<i64, PsaError> {
        let what = "Autotask ResourceWebhooks create";
        let base = self.rest_base().await?;
        let body = json!({
            "IsActive": true,
            "Name": new.name,
            "WebhookUrl": new.webhook_url,
            "DeactivationUrl": new.deactivation_url,
            "SecretKey": new.secret_key,
            "IsSubscribedToCreateEvents": false,
            "IsSubscribedToUpdateEvents": true,
            "IsSubscribedToDeleteEvents": true,
            "SendThresholdExceededNotification": true,
        });
        let url = join(&base, "ResourceWebhooks")?;
        // Not retried: a retry after a timeout could leave a second webhook at Autotask.
        let answer = self.send_once(Method::POST, url, Some(&body), what).await?;
        let created: Created = self.success(answer, what, Some("ResourceWebhooks"))?;
        let id = created.item_id;
        for (_, field) in SUBSCRIBED_FIELDS {
            if let Err(e) = self.add_field(id, field).await {
                if let Err(cleanup) = self.delete_resource_webhook(id).await {
                    tracing::warn!(error = %cleanup, webhook = id, "could not delete the half-made webhook");
                }
                return Err(e);
            }
        }
        Ok(id)
    }

    async fn add_field(&self, webhook: i64, field: i64) -> Result<(), PsaError> {
        let what = "Autotask ResourceWebhooks Fields create";
        let url = join(
            &self.rest_base().await?,
            &format!("ResourceWebhooks/{webhook}/Fields"),
        )?;
        let body = json!({
            "FieldID": field,
            "IsSubscribedField": true,
            "IsDisplayAlwaysField": false,
        });
        let answer = self.send_once(Method::POST, url, Some(&body), what).await?;
        self.success::<Value>(answer, what, Some("ResourceWebhooks"))
            .map(drop)
    }

    /// `DELETE ResourceWebhooks/{id}`; one Autotask no longer has counts as deleted.
    pub async fn delete_resource_webhook(&self, id: i64) -> Result<(), PsaError> {
        let what = "Autotask ResourceWebhooks delete";
        let url = join(&self.rest_base().await?, &format!("ResourceWebhooks/{id}"))?;
        let answer = self.send(Method::DELETE, url, None, true, what).await?;
        if answer.status.is_success() || answer.status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.failure(&answer, what, Some("ResourceWebhooks")))
        }
    }
}
