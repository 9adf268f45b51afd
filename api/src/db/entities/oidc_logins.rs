//! OpenID Connect sign-ins in flight (SPEC S13): keyed by the SHA-256 of `state`, used once,
//! for 10 minutes. The PKCE verifier is sealed (it is what redeems the provider's code).

use sea_orm::entity::prelude::*;

use crate::db::sealed::Sealed;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_logins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    pub tenant_id: String,
    /// SHA-256 of the browser-binding cookie set when the sign-in began.
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: Sealed,
    pub return_to: String,
    /// The redirect URI the authorization request named; the code exchange repeats it.
    pub redirect_uri: String,
    /// Started with `prompt=none` (a silent reauthorization).
    pub silent: bool,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
