//! Webhook callouts (`<Entity>Webhooks`, `<Entity>Webhooks/{id}/Fields`) for Resources, when
//! the simulator is told to offer them ([`crate::SimConfig::resource_webhooks`]).
//!
//! Autotask documents webhooks for Companies, Contacts, Configuration Items, Tickets and
//! Ticket Notes, not for Resources ("We will continuously add webhook support to additional
//! entities"), so by default `Resources/entityInformation` reports `supportsWebhookCallouts:
//! false`, as a real Autotask does today. With the switch on, the simulator models the
//! documented webhook contract applied to Resources:
//! - `POST ResourceWebhooks` (`IsActive`, `WebhookUrl`, `DeactivationUrl`, `SecretKey` ≤ 64
//!   characters, `IsSubscribedTo{Create,Update,Delete}Events`, `Name` ≤ 50, property names
//!   in any letter case) → `{"itemId": id}`; `GET ResourceWebhooks/{id}` → `{"item": …}`
//!   with `webhookGUID` and `isReady` (never the secret key); `DELETE ResourceWebhooks/{id}`.
//! - `POST ResourceWebhooks/{id}/Fields` (`FieldID`, `IsSubscribedField`,
//!   `IsDisplayAlwaysField`): a webhook is ready once one field is subscribed.
//! - When the directory changes (`PUT /_sim/directory`), every active, ready webhook gets a
//!   callout per changed resource: a POST of `{"Action","Guid","EntityType":"Resource","Id",
//!   "Fields","EventTime","SequenceNumber","PersonID"}` with `X-Hook-Signature: sha1=<base64
//!   of HMAC-SHA1(secret key, raw body)>`. A failed delivery is tried again 30 s later, five
//!   attempts at most, as Autotask's error handling describes; callouts leave in order.
//! - When a webhook is deactivated (`POST /_sim/webhooks/{id}/deactivate`) or deleted, its
//!   `DeactivationUrl` gets a signed notice.
//!
//! `GET /_sim/callouts` lists every callout sent (body and signature included, so a test can
//! replay one); `GET /_sim/webhooks` lists the webhooks (never their keys).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::PsaResource;

/// Autotask's limit on a webhook's secret key.
pub const MAX_SECRET_KEY_CHARS: usize = 64;
/// Autotask times a callout out after 10 s.
const CALLOUT_TIMEOUT: Duration = Duration::from_secs(10);
/// And tries again 30 s later, five attempts in all.
const RETRY_AFTER: Duration = Duration::from_secs(30);
const MAX_ATTEMPTS: u32 = 5;

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// `sha1=` and the base64 HMAC-SHA1 of `body` under `key`: Autotask's `X-Hook-Signature`.
pub fn signature(key: &str, body: &[u8]) -> String {
    let mut mac = HmacSha1::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "sha1={}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// One webhook subscription.
#[derive(Debug, Clone)]
struct Hook {
    id: i64,
    guid: String,
    name: String,
    webhook_url: String,
    deactivation_url: String,
    secret_key: String,
    is_active: bool,
    on_create: bool,
    on_update: bool,
    on_delete: bool,
    /// `(Fields row id, FieldID, IsSubscribedField)`.
    fields: Vec<(i64, i64, bool)>,
    sequence: i64,
}

impl Hook {
    fn is_ready(&self) -> bool {
        self.fields.iter().any(|(_, _, subscribed)| *subscribed)
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "webhookGUID": self.guid,
            "name": self.name,
            "webhookUrl": self.webhook_url,
            "deactivationUrl": self.deactivation_url,
            "isActive": self.is_active,
            "isReady": self.is_ready(),
            "isSubscribedToCreateEvents": self.on_create,
            "isSubscribedToUpdateEvents": self.on_update,
            "isSubscribedToDeleteEvents": self.on_delete,
        })
    }
}

/// A callout the simulator sent (or is sending).
#[derive(Debug, Clone, Serialize)]
pub struct SentCallout {
    pub webhook_id: i64,
    /// `callout` or `deactivation`.
    pub kind: &'static str,
    pub url: String,
    /// The raw body, exactly as signed.
    pub body: String,
    /// The `X-Hook-Signature` header.
    pub signature: String,
    /// The receiver's last answer; `null` while undelivered or unreachable.
    pub status: Option<u16>,
    pub attempts: u32,
    pub delivered: bool,
}

/// One callout waiting for the dispatcher: its index in [`Webhooks::sent`].
#[derive(Debug)]
pub(crate) struct Outgoing(usize);

/// Every webhook and every callout sent.
#[derive(Debug, Default)]
pub(crate) struct Webhooks {
    next_id: i64,
    hooks: BTreeMap<i64, Hook>,
    pub(crate) sent: Vec<SentCallout>,
}

/// Why a webhook request is refused: Autotask answers these with 500 `{"errors":[…]}`, or
/// 404 for an id it does not have.
#[derive(Debug)]
pub(crate) enum Refusal {
    NotFound(String),
    Invalid(String),
}

fn get_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text(object: &Map<String, Value>, key: &str) -> Result<String, Refusal> {
    match get_ci(object, key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(Refusal::Invalid(format!("{key} is required."))),
    }
}

fn flag(object: &Map<String, Value>, key: &str) -> bool {
    get_ci(object, key)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn absolute_url(value: &str, key: &str) -> Result<(), Refusal> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(Refusal::Invalid(format!("{key} must be an absolute URL."))),
    }
}

impl Webhooks {
    /// `POST ResourceWebhooks`.
    pub(crate) fn create(&mut self, body: &Value) -> Result<i64, Refusal> {
        let Some(object) = body.as_object() else {
            return Err(Refusal::Invalid("The body must be a JSON object.".into()));
        };
        let webhook_url = text(object, "WebhookUrl")?;
        let deactivation_url = text(object, "DeactivationUrl")?;
        absolute_url(&webhook_url, "WebhookUrl")?;
        absolute_url(&deactivation_url, "DeactivationUrl")?;
        let secret_key = text(object, "SecretKey")?;
        if secret_key.chars().count() > MAX_SECRET_KEY_CHARS {
            return Err(Refusal::Invalid(format!(
                "SecretKey is longer than {MAX_SECRET_KEY_CHARS} characters."
            )));
        }
        let name = text(object, "Name")?;
        if name.chars().count() > 50 {
            return Err(Refusal::Invalid(
                "Name is longer than 50 characters.".into(),
            ));
        }
        self.next_id += 1;
        let id = self.next_id;
        let hook = Hook {
            id,
            guid: uuid::Uuid::new_v4().to_string(),
            name,
            webhook_url,
            deactivation_url,
            secret_key,
            is_active: flag(object, "IsActive"),
            on_create: flag(object, "IsSubscribedToCreateEvents"),
            on_update: flag(object, "IsSubscribedToUpdateEvents"),
            on_delete: flag(object, "IsSubscribedToDeleteEvents"),
            fields: Vec::new(),
            sequence: 0,
        };
        self.hooks.insert(id, hook);
        Ok(id)
    }

    fn hook_mut(&mut self, id: i64) -> Result<&mut Hook, Refusal> {
        self.hooks
            .get_mut(&id)
            .ok_or_else(|| Refusal::NotFound(format!("No ResourceWebhook with id {id}.")))
    }

    /// `GET ResourceWebhooks/{id}`.
    pub(crate) fn get(&self, id: i64) -> Result<Value, Refusal> {
        self.hooks
            .get(&id)
            .map(Hook::json)
            .ok_or_else(|| Refusal::NotFound(format!("No ResourceWebhook with id {id}.")))
    }

    /// `POST ResourceWebhooks/{id}/Fields`.
    pub(crate) fn add_field(&mut self, id: i64, body: &Value) -> Result<i64, Refusal> {
        let object = body
            .as_object()
            .ok_or_else(|| Refusal::Invalid("The body must be a JSON object.".into()))?;
        let field_id = get_ci(object, "FieldID")
            .and_then(Value::as_i64)
            .filter(|f| *f > 0)
            .ok_or_else(|| Refusal::Invalid("FieldID is required.".into()))?;
        let subscribed = flag(object, "IsSubscribedField");
        let row = self.next_id + 1;
        let hook = self.hook_mut(id)?;
        hook.fields.push((row, field_id, subscribed));
        self.next_id = row;
        Ok(row)
    }

    /// `GET ResourceWebhooks/{id}/Fields`.
    pub(crate) fn fields(&self, id: i64) -> Result<Vec<Value>, Refusal> {
        let hook = self
            .hooks
            .get(&id)
            .ok_or_else(|| Refusal::NotFound(format!("No ResourceWebhook with id {id}.")))?;
        Ok(hook
            .fields
            .iter()
            .map(|(row, field, subscribed)| {
                json!({"id": row, "webhookID": id, "fieldID": field,
                       "isSubscribedField": subscribed, "isDisplayAlwaysField": false})
            })
            .collect())
    }

    /// `DELETE ResourceWebhooks/{id}`: the webhook is gone and its deactivation URL is told.
    pub(crate) fn delete(&mut self, id: i64) -> Result<Outgoing, Refusal> {
        let hook = self
            .hooks
            .remove(&id)
            .ok_or_else(|| Refusal::NotFound(format!("No ResourceWebhook with id {id}.")))?;
        Ok(self.deactivation_notice(&hook, "Deleted"))
    }

    /// Deactivates a webhook (as Autotask does after repeated failures or when its owner
    /// resource is deactivated) and tells its deactivation URL.
    pub(crate) fn deactivate(&mut self, id: i64) -> Result<Outgoing, Refusal> {
        let hook = self.hook_mut(id)?;
        hook.is_active = false;
        let hook = hook.clone();
        Ok(self.deactivation_notice(&hook, "Deactivated"))
    }

    fn deactivation_notice(&mut self, hook: &Hook, action: &str) -> Outgoing {
        let body = json!({
            "Action": action,
            "Guid": hook.guid,
            "WebhookID": hook.id,
            "EntityType": "Resource",
            "EventTime": now(),
        });
        self.queue(hook, "deactivation", &hook.deactivation_url.clone(), &body)
    }

    fn queue(&mut self, hook: &Hook, kind: &'static str, url: &str, body: &Value) -> Outgoing {
        let body = body.to_string();
        self.sent.push(SentCallout {
            webhook_id: hook.id,
            kind,
            url: url.to_owned(),
            signature: signature(&hook.secret_key, body.as_bytes()),
            body,
            status: None,
            attempts: 0,
            delivered: false,
        });
        Outgoing(self.sent.len() - 1)
    }

    /// The callouts a change of the served resources causes, in the order they leave.
    pub(crate) fn changed(
        &mut self,
        before: &[PsaResource],
        after: &[PsaResource],
    ) -> Vec<Outgoing> {
        let old: BTreeMap<i64, Value> = before.iter().map(|r| (r.id, fields_of(r))).collect();
        let new: BTreeMap<i64, Value> = after.iter().map(|r| (r.id, fields_of(r))).collect();
        let ids: BTreeSet<i64> = old.keys().chain(new.keys()).copied().collect();
        let mut out = Vec::new();
        let ids_hooks: Vec<i64> = self.hooks.keys().copied().collect();
        for hook_id in ids_hooks {
            for id in &ids {
                let (action, fields) = match (old.get(id), new.get(id)) {
                    (None, Some(now)) => ("Create", now.clone()),
                    (Some(_), None) => ("Delete", json!({})),
                    (Some(was), Some(now)) if was != now => ("Update", difference(was, now)),
                    _ => continue,
                };
                let Some(hook) = self.hooks.get_mut(&hook_id) else {
                    continue;
                };
                let wanted = match action {
                    "Create" => hook.on_create,
                    "Update" => hook.on_update,
                    _ => hook.on_delete,
                };
                if !(hook.is_active && hook.is_ready() && wanted) {
                    continue;
                }
                hook.sequence += 1;
                let body = json!({
                    "Action": action,
                    "Guid": hook.guid,
                    "EntityType": "Resource",
                    "Id": id,
                    "Fields": fields,
                    "EventTime": now(),
                    "SequenceNumber": hook.sequence,
                    "PersonID": null,
                });
                let hook = hook.clone();
                out.push(self.queue(&hook, "callout", &hook.webhook_url, &body));
            }
        }
        out
    }

    /// Every webhook, without its secret key.
    pub(crate) fn list(&self) -> Vec<Value> {
        self.hooks.values().map(Hook::json).collect()
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A resource's fields as a callout names them.
fn fields_of(r: &PsaResource) -> Value {
    json!({
        "firstName": r.first_name,
        "lastName": r.last_name,
        "email": r.email,
        "userName": r.user_name,
        "isActive": r.is_active,
        "securityLevelID": r.security_level_id,
    })
}

/// The fields of `now` that differ from `was`.
fn difference(was: &Value, now: &Value) -> Value {
    let mut changed = Map::new();
    if let (Some(was), Some(now)) = (was.as_object(), now.as_object()) {
        for (key, value) in now {
            if was.get(key) != Some(value) {
                changed.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(changed)
}

/// Delivers queued callouts in order, each with Autotask's timeout and retries; runs on the
/// simulator's own runtime until the channel closes. A deactivation notice goes on its own
/// (a receiver that no longer knows the webhook must not hold up later callouts).
pub(crate) async fn dispatch(
    shared: std::sync::Arc<crate::server::Shared>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Outgoing>,
) {
    let client = match reqwest::Client::builder().timeout(CALLOUT_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(error = %e, "the simulator cannot send callouts");
            return;
        }
    };
    while let Some(Outgoing(index)) = queue.recv().await {
        let Some(callout) = shared.webhooks().sent.get(index).cloned() else {
            continue;
        };
        let delivery = deliver(
            std::sync::Arc::clone(&shared),
            client.clone(),
            index,
            callout,
        );
        if shared.webhooks().sent[index].kind == "deactivation" {
            actix_web::rt::spawn(delivery);
        } else {
            delivery.await;
        }
    }
}

async fn deliver(
    shared: std::sync::Arc<crate::server::Shared>,
    client: reqwest::Client,
    index: usize,
    callout: SentCallout,
) {
    for attempt in 1..=MAX_ATTEMPTS {
        let answer = client
            .post(&callout.url)
            .header("Content-Type", "application/json")
            .header("X-Hook-Signature", &callout.signature)
            .body(callout.body.clone())
            .send()
            .await;
        let status = answer.ok().map(|r| r.status().as_u16());
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        if let Some(sent) = shared.webhooks().sent.get_mut(index) {
            sent.status = status;
            sent.attempts = attempt;
            sent.delivered = delivered;
        }
        if delivered || attempt == MAX_ATTEMPTS {
            break;
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_autotasks_base64_hmac_sha1() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let expected = base64::engine::general_purpose::STANDARD
            .encode(hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            format!("sha1={expected}")
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn resource(id: i64, active: bool) -> PsaResource {
        PsaResource {
            id,
            first_name: "A".into(),
            last_name: "B".into(),
            email: format!("{id}@example.com"),
            user_name: format!("u{id}"),
            is_active: active,
            security_level_id: 1,
        }
    }

    #[test]
    fn only_active_ready_webhooks_get_callouts_numbered_in_order() {
        let mut hooks = Webhooks::default();
        let id = hooks
            .create(
                &json!({"isActive": true, "WebhookUrl": "http://127.0.0.1:1/h",
                "DeactivationUrl": "http://127.0.0.1:1/d", "SecretKey": "k", "Name": "n",
                "IsSubscribedToUpdateEvents": true, "IsSubscribedToDeleteEvents": true}),
            )
            .unwrap();
        let before = [resource(1, true), resource(2, true)];
        let after = [resource(1, false)];
        assert!(hooks.changed(&before, &after).is_empty(), "not ready");
        hooks
            .add_field(id, &json!({"FieldID": 7, "IsSubscribedField": true}))
            .unwrap();
        let out = hooks.changed(&before, &after);
        assert_eq!(out.len(), 2);
        let bodies: Vec<Value> = hooks
            .sent
            .iter()
            .map(|c| serde_json::from_str(&c.body).unwrap())
            .collect();
        assert_eq!(bodies[0]["Action"], "Update");
        assert_eq!(bodies[0]["Fields"], json!({"isActive": false}));
        assert_eq!(bodies[0]["SequenceNumber"], 1);
        assert_eq!(bodies[1]["Action"], "Delete");
        assert_eq!(bodies[1]["Id"], 2);
        assert_eq!(bodies[1]["SequenceNumber"], 2);
        assert_eq!(
            hooks.sent[0].signature,
            signature("k", hooks.sent[0].body.as_bytes())
        );
    }

    #[test]
    fn a_long_secret_key_and_relative_urls_are_refused() {
        let mut hooks = Webhooks::default();
        let long = "x".repeat(65);
        for body in [
            json!({"WebhookUrl": "http://h/x", "DeactivationUrl": "http://h/d", "SecretKey": long, "Name": "n"}),
            json!({"WebhookUrl": "/x", "DeactivationUrl": "http://h/d", "SecretKey": "k", "Name": "n"}),
        ] {
            assert!(matches!(hooks.create(&body), Err(Refusal::Invalid(_))));
        }
    }
}
