//! A tenant's Autotask webhook subscription (SPEC S12). `secret_key` is write-only and
//! sealed: it signs the callouts, and no response ever carries it.

use sea_orm::entity::prelude::*;

use crate::db::sealed::Sealed;

/// `state`: a live subscription.
pub const ACTIVE: &str = "active";
/// `state`: Autotask deactivated it (its deactivation URL was called).
pub const DEACTIVATED: &str = "deactivated";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "psa_webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    /// Autotask's id of the `ResourceWebhooks` row.
    pub webhook_id: i64,
    pub secret_key: Sealed,
    pub callback_url: String,
    /// [`ACTIVE`] or [`DEACTIVATED`].
    pub state: String,
    pub subscribed_by: Option<String>,
    pub subscribed_at: DateTimeUtc,
    pub last_callout_at: Option<DateTimeUtc>,
    pub deactivated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
