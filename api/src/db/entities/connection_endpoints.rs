use hubkeep_shared::System;
use hubkeep_shared::api::EndpointSide;
use hubkeep_shared::api::EndpointStatus;
use hubkeep_shared::ids::{ConnectionId, UserId};
use sea_orm::entity::prelude::*;

/// One end of a connection (`source` or `target`) and whether it is connected (SPEC S4).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub connection_id: ConnectionId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub side: EndpointSide,
    pub tenant_id: String,
    pub system: System,
    pub account_label: Option<String>,
    pub status: EndpointStatus,
    pub changed_at: DateTimeUtc,
    pub changed_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
