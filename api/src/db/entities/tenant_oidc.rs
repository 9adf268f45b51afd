//! A tenant's OpenID Connect sign-in (SPEC S13). `client_secret` is write-only and sealed.

use sea_orm::entity::prelude::*;

use crate::db::sealed::Sealed;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_oidc")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Sealed,
    pub label: String,
    pub email_claim: String,
    /// A JSON array of lower-case domains; empty: any.
    pub allowed_email_domains: String,
    pub require_email_verified: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The allowed email domains (empty: any).
    pub fn domains(&self) -> Vec<String> {
        serde_json::from_str(&self.allowed_email_domains).unwrap_or_default()
    }
}
