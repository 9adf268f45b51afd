//! The activity-log writer (SPEC S7). Every state change calls [`record`] with the same
//! transaction as the change, so the two commit or vanish together.

use hubkeep_shared::api::ActorKind;
use hubkeep_shared::ids::{ConnectionId, TokenId, UserId};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::db::{self, entities::activity_log};

/// What an activity entry records about the request that made the change: its id, the
/// client address and agent (built from a request by `crate::http::extractors`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    /// The client address: the peer's, or behind a proxy of `[http] trusted_proxies` the
    /// address it forwards for (`http::client_address`).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// For changes made outside an HTTP request (command line, start-up seeding).
    pub fn system() -> Self {
        Self::default()
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A person using a session (the console).
    User { user_id: UserId, label: String },
    /// A script using a personal API token; acts as its user.
    ApiToken {
        user_id: UserId,
        token_id: TokenId,
        label: String,
    },
    /// The sync engine, with an engine-scoped token.
    Engine { token_id: TokenId },
    /// The hub itself (sign-in, reuse detection, provisioning).
    System,
}

impl Actor {
    fn kind(&self) -> ActorKind {
        match self {
            Self::User { .. } => ActorKind::User,
            Self::ApiToken { .. } => ActorKind::ApiToken,
            Self::Engine { .. } => ActorKind::Engine,
            Self::System => ActorKind::System,
        }
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub id: Option<String>,
    pub label: Option<String>,
}

impl Target {
    pub fn new(kind: &'static str, id: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            kind,
            id: Some(id.into()),
            label: Some(label.into()),
        }
    }
}

/// Action codes (dotted, stable: clients filter on them).
pub mod actions {
    pub const TENANT_CREATED: &str = "tenant.created";
    pub const TENANT_LAUNCH_SECRET_ROTATED: &str = "tenant.launch_secret_rotated";
    pub const USER_SIGNED_IN: &str = "user.signed_in";
    pub const USER_SIGN_IN_REFUSED: &str = "user.sign_in_refused";
    pub const USER_SIGNED_OUT: &str = "user.signed_out";
    pub const SESSION_REFRESHED: &str = "session.refreshed";
    pub const SESSION_REVOKED: &str = "session.revoked";
    pub const API_TOKEN_CREATED: &str = "api_token.created";
    pub const API_TOKEN_REVOKED: &str = "api_token.revoked";
    pub const ACCESS_ELEVATED_LEVELS_SAVED: &str = "access.elevated_levels_saved";
    pub const USER_ACTIVATED: &str = "user.activated";
    pub const USER_DEACTIVATED: &str = "user.deactivated";
    pub const USER_ELEVATION_CHANGED: &str = "user.elevation_changed";
    pub const USER_UPDATED: &str = "user.updated";
    /// SPEC S15: a person turned email categories on or off.
    pub const USER_PREFERENCES_UPDATED: &str = "user.preferences_updated";
    /// SPEC S15: an elevated user sent a failed or dead message again.
    pub const NOTIFICATION_RETRIED: &str = "notification.retried";
    pub const USERS_REFRESHED: &str = "users.refreshed";
    /// SPEC S12: every session and API token of a user whose access became `none`.
    pub const USER_CREDENTIALS_REVOKED: &str = "user.credentials_revoked";
    /// SPEC S12: the PSA changed a hub user (reconciliation, a security level's facts).
    pub const USER_PSA_CHANGED: &str = "user.psa_changed";
    /// SPEC S12: an Autotask webhook subscription made, removed, or deactivated by Autotask.
    pub const PSA_WEBHOOK_SUBSCRIBED: &str = "psa.webhook_subscribed";
    pub const PSA_WEBHOOK_UNSUBSCRIBED: &str = "psa.webhook_unsubscribed";
    pub const PSA_WEBHOOK_DEACTIVATED: &str = "psa.webhook_deactivated";
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    pub const CONNECTION_CREATED: &str = "connection.created";
    pub const CONNECTION_UPDATED: &str = "connection.updated";
    pub const CONNECTION_PAID: &str = "connection.paid";
    pub const CONNECTION_CANCELLED: &str = "connection.cancelled";
    pub const CONNECTION_ENDPOINT_DISCONNECTED: &str = "connection.endpoint_disconnected";
    pub const CONNECTION_ENDPOINT_RECONNECTED: &str = "connection.endpoint_reconnected";
    pub const ENGINE_TOKEN_CREATED: &str = "engine_token.created";
    pub const ENGINE_TOKEN_REVOKED: &str = "engine_token.revoked";
    pub const SYNC_RUN_REQUESTED: &str = "sync_run.requested";
    pub const SYNC_RUN_HIDDEN: &str = "sync_run.hidden";
    pub const SYNC_RUN_UNHIDDEN: &str = "sync_run.unhidden";
    pub const SYNC_RUN_PROGRESSED: &str = "sync_run.progressed";
    pub const VIEW_CREATED: &str = "view.created";
    pub const VIEW_UPDATED: &str = "view.updated";
    pub const VIEW_DELETED: &str = "view.deleted";
    pub const INVITATION_CREATED: &str = "invitation.created";
    pub const INVITATION_ACCEPTED: &str = "invitation.accepted";
    pub const INVITATION_DECLINED: &str = "invitation.declined";
    pub const INVITATION_REVOKED: &str = "invitation.revoked";
    pub const INVITATION_EXPIRED: &str = "invitation.expired";
    pub const CONNECTION_OWNERSHIP_TRANSFERRED: &str = "connection.ownership_transferred";
    pub const CONNECTION_OWNERSHIP_RECOVERED: &str = "connection.ownership_recovered";
    pub const MEMBER_ROLE_REMOVED: &str = "member.role_removed";
    pub const MEMBER_LEFT: &str = "member.left";
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub tenant_id: &'a str,
    pub actor: &'a Actor,
    pub action: &'static str,
    pub target: Target,
    pub connection_id: Option<&'a ConnectionId>,
    /// Changed fields (before/after) or context. Never a secret.
    pub details: Value,
    pub meta: &'a RequestMeta,
}

/// Appends one entry, inside the caller's transaction.
pub async fn record(db: &impl ConnectionTrait, entry: Entry<'_>) -> Result<String, DbErr> {
    let id = db::new_id();
    let (user_id, token_id, label) = match entry.actor {
        Actor::User { user_id, label } => (Some(user_id.clone()), None, Some(label.clone())),
        Actor::ApiToken {
            user_id,
            token_id,
            label,
        } => (
            Some(user_id.clone()),
            Some(token_id.clone()),
            Some(label.clone()),
        ),
        Actor::Engine { token_id } => (None, Some(token_id.clone()), Some("sync engine".into())),
        Actor::System => (None, None, Some("Hubkeep".into())),
    };
    let model = activity_log::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(entry.tenant_id.to_owned()),
        at: Set(db::now()),
        actor_kind: Set(entry.actor.kind()),
        actor_user_id: Set(user_id),
        actor_token_id: Set(token_id),
        actor_label: Set(label),
        action: Set(entry.action.to_owned()),
        target_kind: Set(entry.target.kind.to_owned()),
        target_id: Set(entry.target.id),
        target_label: Set(entry.target.label),
        connection_id: Set(entry.connection_id.cloned()),
        details: Set(entry.details.to_string()),
        request_id: Set(entry.meta.request_id.clone()),
        ip: Set(entry.meta.ip.clone()),
        user_agent: Set(entry.meta.user_agent.clone()),
    };
    activity_log::Entity::insert(model).exec(db).await?;
    Ok(id)
}

/// Whoever makes a change through the API: a signed-in caller (a person at the console or a
/// script with their token) or the sync engine. Implemented by `crate::identity`'s callers,
/// so the log needs to know nothing of how they authenticated.
pub trait Author {
    fn tenant_id(&self) -> &str;
    fn actor(&self) -> Actor;
    fn meta(&self) -> &RequestMeta;
}

/// Appends one entry made by `author`, inside the author's transaction.
pub async fn record_by(
    db: &impl ConnectionTrait,
    author: &impl Author,
    action: &'static str,
    target: Target,
    connection_id: Option<&ConnectionId>,
    details: Value,
) -> Result<String, DbErr> {
    record(
        db,
        Entry {
            tenant_id: author.tenant_id(),
            actor: &author.actor(),
            action,
            target,
            connection_id,
            details,
            meta: author.meta(),
        },
    )
    .await
}

/// The fields a change touched, each with its value before and after, as entries record them
/// (`{"name": {"before": "A", "after": "B"}}`). A field whose value did not change is left
/// out, so a request that changes nothing leaves the builder empty and writes no entry.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes `field` when `before` and `after` differ; true when it did.
    pub fn note(&mut self, field: &str, before: impl Serialize, after: impl Serialize) -> bool {
        let (before, after) = (json!(before), json!(after));
        if before == after {
            return false;
        }
        self.0.insert(
            field.to_owned(),
            json!({ "before": before, "after": after }),
        );
        true
    }

    /// Notes `field` when it changed, showing only whether it was set (`***`) and never its
    /// value: for secrets and connection strings.
    pub fn note_masked<T: PartialEq>(
        &mut self,
        field: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> bool {
        if before == after {
            return false;
        }
        // Compared on the values, shown masked: a secret replaced by another still shows as
        // a change, `***` to `***`.
        let mask = |v: Option<&T>| v.map(|_| MASK);
        self.0.insert(
            field.to_owned(),
            json!({ "before": mask(before), "after": mask(after) }),
        );
        true
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names of the changed fields, in order.
    pub fn fields(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    /// The changes as one JSON object, for an entry's `details`.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// What entries show for a secret or connection string that is set.
pub const MASK: &str = "***";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s7_changes_record_only_what_changed_and_mask_secrets() {
        let mut changes = Changes::new();
        assert!(!changes.note("name", "A", "A"));
        assert!(changes.note("name", "A", "B"));
        assert!(changes.note("group", None::<String>, Some("Ops")));
        assert!(!changes.note_masked("postgres_db", Some(&"x"), Some(&"x")));
        assert!(changes.note_masked("postgres_db", Some(&"x"), Some(&"y")));
        // In insertion order, or sorted: serde_json's `preserve_order` decides, and another
        // crate of the workspace may turn it on.
        let mut fields = changes.fields();
        fields.sort();
        assert_eq!(fields, ["group", "name", "postgres_db"]);
        assert_eq!(
            changes.into_value(),
            json!({
                "name": {"before": "A", "after": "B"},
                "group": {"before": null, "after": "Ops"},
                "postgres_db": {"before": "***", "after": "***"},
            })
        );
    }
}
