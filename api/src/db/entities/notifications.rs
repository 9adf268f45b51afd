//! The notification outbox (SPEC S15): one rendered message per row.

use hubkeep_shared::api::{NotificationCategory, NotificationStatus};
use hubkeep_shared::ids::{NotificationId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NotificationId,
    pub tenant_id: String,
    pub category: NotificationCategory,
    pub kind: String,
    pub recipient_user_id: Option<UserId>,
    pub recipient_email: String,
    pub recipient_name: String,
    pub subject: String,
    /// `notify::Body` as JSON: the paragraphs and the console link.
    pub body: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    /// The instance sending it (`AppState::instance_id`), while it does.
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
