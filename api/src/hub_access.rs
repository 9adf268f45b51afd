//! A user's hub access (SPEC S2) from current data: the decision the shared matrix computes
//! from their security level's facts, the Access-tab set and their elevation, and its stored
//! (sortable) copy on the user's row, rewritten whenever an input changes; and what losing
//! access takes away (SPEC S12): every session and API token, in the same transaction.

use hubkeep_shared::ids::TokenId;
use hubkeep_shared::{AccessDecision, AccessInputs, HubAccess, LevelFacts, access_decision};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

use crate::activity::{self, Actor, RequestMeta, Target, actions};
use crate::db::{
    self,
    entities::{api_tokens, elevated_levels, security_levels, sessions, users},
};

/// S2 for a user, given their level's facts (absent when the PSA no longer lists the level)
/// and whether the level is in the Access-tab set.
pub fn decide(
    model: &users::Model,
    level: Option<LevelFacts>,
    level_in_elevated_set: bool,
) -> AccessDecision {
    access_decision(&AccessInputs {
        user_active: model.active,
        resource_active: model.resource_active,
        level: level.unwrap_or_default(),
        is_primary: model.is_primary,
        elevation: model.elevation,
        level_in_elevated_set,
    })
}

/// The sortable rank of an access level.
pub const fn access_rank(level: HubAccess) -> i32 {
    match level {
        HubAccess::None => 0,
        HubAccess::Limited => 1,
        HubAccess::Elevated => 2,
    }
}

/// The stored (sortable) access level of a user.
pub const fn stored_access(model: &users::Model) -> HubAccess {
    match model.access_rank {
        2 => HubAccess::Elevated,
        1 => HubAccess::Limited,
        _ => HubAccess::None,
    }
}

/// Writes a decision into the stored (sortable) columns of a user.
pub fn stamp(model: &mut users::Model, decision: AccessDecision) {
    model.access_rank = access_rank(decision.level);
    model.access_source = decision.source;
}

/// Recomputes the stored access of every user of the tenant on these security levels (after
/// the levels' facts or the Access-tab set changed), in the caller's transaction. A user whose
/// access becomes `none` loses every credential ([`withdraw_credentials`]); when the PSA's
/// levels changed (`from_psa`), each changed user gets a `user.psa_changed` entry (SPEC S12).
pub async fn restamp_levels(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    level_ids: &[i64],
    from_psa: bool,
) -> Result<u64, DbErr> {
    if level_ids.is_empty() {
        return Ok(0);
    }
    let affected = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::SecurityLevelId.is_in(level_ids.iter().copied()))
        .all(db)
        .await?;
    let mut changed = 0;
    for user in affected {
        let decision = access_of(db, &user).await?;
        let rank = access_rank(decision.level);
        let source = decision.source;
        if user.access_rank != rank || user.access_source != source {
            users::Entity::update_many()
                .col_expr(
                    users::Column::AccessRank,
                    sea_orm::sea_query::Expr::value(rank),
                )
                .col_expr(
                    users::Column::AccessSource,
                    sea_orm::sea_query::Expr::value(source),
                )
                .filter(users::Column::Id.eq(&user.id))
                .exec(db)
                .await?;
            let meta = RequestMeta::system();
            if from_psa {
                activity::record(
                    db,
                    activity::Entry {
                        tenant_id,
                        actor: &Actor::System,
                        action: actions::USER_PSA_CHANGED,
                        target: Target::new("user", &user.id, &user.display_name),
                        connection_id: None,
                        details: json!({
                            "cause": "security_level",
                            "changes": {},
                            "access_level": {"before": stored_access(&user), "after": decision.level},
                        }),
                        meta: &meta,
                    },
                )
                .await?;
            }
            if decision.level == HubAccess::None {
                withdraw_credentials(db, &user, Why::SecurityLevel, &Actor::System, &meta).await?;
            }
            changed += 1;
        }
    }
    Ok(changed)
}

/// S2 from current data: two primary-key lookups.
pub async fn access_of(
    db: &impl ConnectionTrait,
    model: &users::Model,
) -> Result<AccessDecision, DbErr> {
    let level =
        security_levels::Entity::find_by_id((model.tenant_id.clone(), model.security_level_id))
            .one(db)
            .await?
            .map(|l| l.facts());
    let in_set =
        elevated_levels::Entity::find_by_id((model.tenant_id.clone(), model.security_level_id))
            .one(db)
            .await?
            .is_some();
    Ok(decide(model, level, in_set))
}

/// Why a user's credentials were withdrawn: the `reason` of the revoked sessions and of the
/// `user.credentials_revoked` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// An elevated user deactivated them in the hub.
    Deactivated,
    /// The PSA's answer at sign-in, refresh or a Users-tab refresh leaves them no access.
    PsaChanged,
    /// Their security level's facts changed (or it vanished) and leave them no access.
    SecurityLevel,
}

impl Why {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Deactivated => "user_deactivated",
            Self::PsaChanged => "access_withdrawn",
            Self::SecurityLevel => "security_level_changed",
        }
    }
}

/// What [`withdraw_credentials`] revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withdrawn {
    pub sessions: Vec<String>,
    pub api_tokens: Vec<TokenId>,
}

impl Withdrawn {
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.api_tokens.is_empty()
    }
}

/// SPEC S12, losing access loses every credential: revokes every live session and every API
/// token of a user whose access is now `none`, in the caller's transaction, and when anything
/// was revoked logs one `user.credentials_revoked` entry naming them. Nothing ever clears
/// `revoked_at` again, so reactivation brings no credential back.
pub async fn withdraw_credentials(
    db: &impl ConnectionTrait,
    user: &users::Model,
    why: Why,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<Withdrawn, DbErr> {
    let now = db::now();
    let sessions: Vec<String> = sessions::Entity::find()
        .select_only()
        .column(sessions::Column::Id)
        .filter(sessions::Column::UserId.eq(&user.id))
        .filter(sessions::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let api_tokens: Vec<TokenId> = api_tokens::Entity::find()
        .select_only()
        .column(api_tokens::Column::Id)
        .filter(api_tokens::Column::UserId.eq(&user.id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let withdrawn = Withdrawn {
        sessions,
        api_tokens,
    };
    if withdrawn.is_empty() {
        return Ok(withdrawn);
    }
    sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(
            sessions::Column::RevokedReason,
            Expr::value(Some(why.as_str().to_owned())),
        )
        // By user, not by the ids read above: one that appeared since is revoked too.
        .filter(sessions::Column::UserId.eq(&user.id))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let revoked_by = match actor {
        Actor::User { user_id, .. } | Actor::ApiToken { user_id, .. } => Some(user_id.clone()),
        Actor::Engine { .. } | Actor::System => None,
    };
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(api_tokens::Column::RevokedBy, Expr::value(revoked_by))
        .filter(api_tokens::Column::UserId.eq(&user.id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    activity::record(
        db,
        activity::Entry {
            tenant_id: &user.tenant_id,
            actor,
            action: actions::USER_CREDENTIALS_REVOKED,
            target: Target::new("user", &user.id, &user.display_name),
            connection_id: None,
            details: json!({
                "reason": why.as_str(),
                "sessions": withdrawn.sessions,
                "api_tokens": withdrawn.api_tokens,
            }),
            meta,
        },
    )
    .await?;
    Ok(withdrawn)
}
