use hubkeep_shared::ids::{TokenId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TokenId,
    pub tenant_id: String,
    pub user_id: Option<UserId>,
    pub name: String,
    pub scope: StoredScope,
    /// SHA-256 of the secret, hex. The secret itself is never stored.
    pub token_hash: String,
    /// The first characters of the secret, so a person can tell tokens apart.
    pub token_prefix: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_by: Option<UserId>,
}

/// What a token row is: a personal token of one scope (`hubkeep_shared::TokenScope`), or the
/// sync engine's (which belongs to no user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum StoredScope {
    Read,
    ReadWrite,
    Engine,
}

impl From<hubkeep_shared::TokenScope> for StoredScope {
    fn from(scope: hubkeep_shared::TokenScope) -> Self {
        match scope {
            hubkeep_shared::TokenScope::Read => Self::Read,
            hubkeep_shared::TokenScope::ReadWrite => Self::ReadWrite,
        }
    }
}

impl StoredScope {
    /// The personal scope, or `None` for the engine's token.
    pub fn personal(self) -> Option<hubkeep_shared::TokenScope> {
        match self {
            Self::Read => Some(hubkeep_shared::TokenScope::Read),
            Self::ReadWrite => Some(hubkeep_shared::TokenScope::ReadWrite),
            Self::Engine => None,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
