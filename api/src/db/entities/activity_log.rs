use hubkeep_shared::api::ActorKind;
use hubkeep_shared::ids::{ConnectionId, TokenId, UserId};
use sea_orm::entity::prelude::*;

/// One append-only activity entry (SPEC S7).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub at: DateTimeUtc,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<TokenId>,
    pub actor_label: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub connection_id: Option<ConnectionId>,
    /// JSON: changed fields before/after. Never a secret.
    pub details: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
