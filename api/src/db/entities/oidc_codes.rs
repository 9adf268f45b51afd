//! The one-time codes of finished OpenID Connect sign-ins (SPEC S13): keyed by the SHA-256 of
//! the code, redeemed once within 60 seconds for the session's tokens.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub tenant_id: String,
    pub session_id: String,
    /// SHA-256 of the browser-binding cookie set when the sign-in began.
    pub browser_hash: String,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
