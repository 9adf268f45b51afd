//! Notifications (SPEC S15): a transactional outbox. A change that tells someone about
//! itself calls [`enqueue`] in its own transaction, so the message exists exactly when the
//! change does; [`sender`] delivers it later, never in the request path.

pub mod messages;
pub mod outbox;
pub mod preferences;
pub mod render;
pub mod sender;

use hubkeep_shared::api::{NotificationCategory, NotificationStatus};
use hubkeep_shared::ids::{NotificationId, UserId};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde::{Deserialize, Serialize};

use crate::db::{self, entities::notifications, entities::users};

/// What a message says: paragraphs of plain text (names as they are: the renderer escapes
/// them for HTML and headers) and at most one link into the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pub paragraphs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Link>,
}

/// A link into the console: its text and its path (`/invitations`); the sender puts the
/// operator's public address in front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub path: String,
}

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The hub user, whose preferences apply; `None` for an address that is nobody's yet.
    pub user_id: Option<UserId>,
    pub email: String,
    pub name: String,
}

impl Recipient {
    pub fn user(user: &users::Model) -> Self {
        Self {
            user_id: Some(user.id.clone()),
            email: user.email.clone(),
            name: user.display_name.clone(),
        }
    }

    pub fn address(email: &str) -> Self {
        Self {
            user_id: None,
            email: email.to_owned(),
            name: String::new(),
        }
    }
}

/// One message to write to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub category: NotificationCategory,
    /// The event, named as the activity log names it.
    pub kind: &'static str,
    pub to: Recipient,
    pub subject: String,
    pub body: Body,
}

/// Writes `mail` to the outbox in the change's transaction `db`, unless its recipient turned
/// the category off or has no address. Returns the message's id when one was written.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    mail: Mail,
) -> Result<Option<NotificationId>, DbErr> {
    if mail.to.email.trim().is_empty() {
        return Ok(None);
    }
    if let Some(user_id) = &mail.to.user_id
        && !preferences::of(db, user_id).await?.allows(mail.category)
    {
        return Ok(None);
    }
    let id = NotificationId::new(db::new_id());
    let now = db::now();
    let row = notifications::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(tenant_id.to_owned()),
        category: Set(mail.category),
        kind: Set(mail.kind.to_owned()),
        recipient_user_id: Set(mail.to.user_id),
        recipient_email: Set(mail.to.email.trim().to_owned()),
        recipient_name: Set(mail.to.name),
        subject: Set(mail.subject),
        body: Set(serde_json::to_string(&mail.body).map_err(|e| DbErr::Custom(e.to_string()))?),
        status: Set(NotificationStatus::Queued),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        lease_holder: Set(None),
        lease_expires_at: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    };
    notifications::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(Some(id))
}
