//! The authenticated caller, recomputed from current data on every request (SPEC S2, S3.3):
//! a token proves who is calling, never what they may do.

use hubkeep_shared::{
    AccessDecision, HubAccess, HubAction, ProblemCode, TokenId, TokenScope, hub_allows,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use super::{access_token, lookup, secret};
use crate::AppState;
use crate::activity::Actor;
use crate::activity::RequestMeta;
use crate::cache::{Key, epoch_secs};
use crate::db::{
    self,
    entities::{api_tokens, sessions, users},
};
use crate::error::ApiError;
use crate::hub_access::access_of;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a console session.
    Session { session_id: String },
    /// A personal API token.
    ApiToken {
        token_id: TokenId,
        scope: TokenScope,
    },
}

/// A signed-in hub user with access other than `none`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub user: users::Model,
    pub access: AccessDecision,
    pub credential: Credential,
    pub meta: RequestMeta,
}

/// An API token's row as the read cache keeps it, with when this instance last wrote its
/// `last_used_at` (that column changes nothing a decision reads, so writing it does not
/// invalidate on PostgreSQL, and the cached row keeps the value it was read with).
#[derive(Debug)]
struct CachedToken {
    found: lookup::Found<api_tokens::Model>,
    last_used_secs: AtomicU64,
}

/// `last_used_at` of an API token is written at most this often, so a busy script does not
/// turn every read into a write.
const LAST_USED_GRANULARITY_SECS: u64 = 60;

impl Caller {
    /// The actor activity entries name.
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Session { .. } => Actor::User {
                user_id: self.user.id.clone(),
                label: self.user.display_name.clone(),
            },
            Credential::ApiToken { token_id, .. } => Actor::ApiToken {
                user_id: self.user.id.clone(),
                token_id: token_id.clone(),
                label: self.user.display_name.clone(),
            },
        }
    }

    pub fn access_level(&self) -> HubAccess {
        self.access.level
    }

    /// Refuses a hub action the caller's access level does not allow: 403
    /// `elevated_access_required` when elevation would allow it.
    pub fn require(&self, action: HubAction) -> Result<(), ApiError> {
        if hub_allows(self.access.level, action) {
            Ok(())
        } else if hub_allows(HubAccess::Elevated, action) {
            Err(ApiError::new(
                ProblemCode::ElevatedAccessRequired,
                "This needs elevated hub access.",
            ))
        } else {
            Err(ApiError::new(ProblemCode::Forbidden, "Not allowed."))
        }
    }

    /// The caller as of now, re-read in `db` (a transaction holding the tenant's lock,
    /// [`db::lock_tenant`]): the access level computed when the request arrived may have
    /// been taken away by a change that committed since. Re-reads what such changes touch —
    /// the session's revocation (deactivation revokes sessions) and the user's access — and
    /// answers as authentication would if either is gone; a token's own expiry and
    /// revocation were checked when the request arrived.
    pub async fn recheck(&self, db: &impl ConnectionTrait) -> Result<Caller, ApiError> {
        if let Credential::Session { session_id } = &self.credential {
            let session = sessions::Entity::find_by_id(session_id.clone())
                .one(db)
                .await?;
            if session.is_none_or(|s| s.revoked_at.is_some()) {
                return Err(reauthorize("The session was revoked"));
            }
        }
        let user = users::Entity::find_by_id(self.user.id.clone())
            .one(db)
            .await?
            .filter(|u| u.tenant_id == self.tenant_id)
            .ok_or_else(|| reauthorize("The user no longer exists"))?;
        let access = access_of(db, &user).await?;
        if access.level == HubAccess::None {
            return Err(match self.credential {
                Credential::Session { .. } => reauthorize("Your hub access has changed"),
                Credential::ApiToken { .. } => ApiError::new(
                    ProblemCode::UserInactive,
                    "The token's user no longer has hub access.",
                ),
            });
        }
        Ok(Caller {
            user,
            access,
            ..self.clone()
        })
    }

    /// Refuses API tokens where only a person at the console may act.
    pub fn require_session(&self, what: &str) -> Result<&str, ApiError> {
        match &self.credential {
            Credential::Session { session_id } => Ok(session_id),
            Credential::ApiToken { .. } => Err(ApiError::new(
                ProblemCode::Forbidden,
                format!("{what} needs a console session; API tokens cannot do it."),
            )),
        }
    }
}

impl crate::activity::Author for Caller {
    fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    fn actor(&self) -> Actor {
        Caller::actor(self)
    }

    fn meta(&self) -> &RequestMeta {
        &self.meta
    }
}

/// The token of an `Authorization` header's value, which must be `Bearer <token>`; 401
/// `unauthenticated` when it is absent or malformed.
pub fn bearer(authorization: Option<&str>) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            ProblemCode::Unauthenticated,
            "Send `Authorization: Bearer <access token or API token>`.",
        )
    };
    let value = authorization.ok_or_else(missing)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

/// The caller of a request of `method` carrying this `Authorization` header value: a session
/// access token or a personal API token, checked against current data.
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
    method: &str,
    meta: RequestMeta,
) -> Result<Caller, ApiError> {
    let token = bearer(authorization)?;
    if token.starts_with(super::secret::API_TOKEN_PREFIX) {
        api_token_caller(state, token, method, meta).await
    } else {
        session_caller(state, token, meta).await
    }
}

fn reauthorize(why: &str) -> ApiError {
    ApiError::new(
        ProblemCode::ReauthorizationRequired,
        format!("{why}: sign in again."),
    )
}

async fn session_caller(
    state: &AppState,
    token: &str,
    meta: RequestMeta,
) -> Result<Caller, ApiError> {
    let claims = access_token::verify(
        &state.keys,
        &state.verified_tokens,
        &state.settings.auth.issuer,
        token,
    )?;
    let found = cached_session(state, &claims.sid)
        .await?
        .filter(|f| {
            f.credential.tenant_id == claims.tid && f.credential.user_id.as_str() == claims.sub
        })
        .ok_or_else(|| reauthorize("The session no longer exists"))?;
    let session = &found.credential;
    if session.revoked_at.is_some() {
        return Err(reauthorize("The session was revoked"));
    }
    if session.expires_at <= db::now() {
        return Err(reauthorize("The session is over"));
    }
    let found_user = found
        .user
        .as_ref()
        .ok_or_else(|| reauthorize("The user no longer exists"))?;
    let access = found_user.decision();
    if access.level == HubAccess::None {
        return Err(reauthorize("Your hub access has changed"));
    }
    let user = found_user.user.clone();
    Ok(Caller {
        tenant_id: user.tenant_id.clone(),
        user,
        access,
        credential: Credential::Session {
            session_id: session.id.clone(),
        },
        meta,
    })
}

/// A session and its user: from the read cache when it holds them ([`crate::cache`]),
/// otherwise from the database (and then kept).
async fn cached_session(
    state: &AppState,
    session_id: &str,
) -> Result<Option<Arc<lookup::Found<sessions::Model>>>, ApiError> {
    let key = Key::Session(session_id.to_owned());
    let load = lookup::session(&state.reader, session_id);
    Ok(state.cache.load_through(key, load).await?)
}

/// An API token and its user, as [`cached_session`] finds a session.
async fn cached_api_token(
    state: &AppState,
    token_hash: String,
) -> Result<Option<Arc<CachedToken>>, ApiError> {
    let load = async {
        let found = lookup::api_token(&state.reader, &token_hash).await?;
        Ok::<_, sea_orm::DbErr>(found.map(|found| CachedToken {
            last_used_secs: AtomicU64::new(found.credential.last_used_at.map_or(0, epoch_secs)),
            found,
        }))
    };
    Ok(state
        .cache
        .load_through(Key::ApiToken(token_hash.clone()), load)
        .await?)
}

async fn api_token_caller(
    state: &AppState,
    token: &str,
    method: &str,
    meta: RequestMeta,
) -> Result<Caller, ApiError> {
    let invalid = |why: &str| {
        ApiError::new(
            ProblemCode::Unauthenticated,
            format!("The API token is not valid: {why}."),
        )
    };
    let cached = cached_api_token(state, secret::hash(token))
        .await?
        .ok_or_else(|| invalid("unknown token"))?;
    let row = &cached.found.credential;
    if row.revoked_at.is_some() {
        return Err(invalid("it was revoked"));
    }
    let now = db::now();
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(invalid("it has expired"));
    }
    let scope: TokenScope = row.scope.personal().ok_or_else(|| {
        ApiError::new(
            ProblemCode::InsufficientScope,
            "This token is for the sync engine and cannot act as a user.",
        )
    })?;
    if row.user_id.is_none() {
        return Err(invalid("it has no user"));
    }
    let found_user = cached
        .found
        .user
        .as_ref()
        .ok_or_else(|| invalid("its user no longer exists"))?;
    let access = found_user.decision();
    if access.level == HubAccess::None {
        return Err(ApiError::new(
            ProblemCode::UserInactive,
            "The token's user no longer has hub access.",
        ));
    }
    if !scope.allows_method(method) {
        return Err(ApiError::new(
            ProblemCode::InsufficientScope,
            "A `read` token may only send GET requests.",
        ));
    }
    // `last_used_at` is written at most once a granularity by this instance: the cached row
    // keeps the value it was read with, so the last write is remembered beside it.
    let now_secs = epoch_secs(now);
    let last = cached.last_used_secs.load(SeqCst);
    let stale = now_secs.saturating_sub(last) >= LAST_USED_GRANULARITY_SECS;
    if stale
        && cached
            .last_used_secs
            .compare_exchange(last, now_secs, SeqCst, SeqCst)
            .is_ok()
    {
        api_tokens::Entity::update(api_tokens::ActiveModel {
            id: Set(row.id.clone()),
            last_used_at: Set(Some(now)),
            ..Default::default()
        })
        .exec(&state.db)
        .await?;
    }
    Ok(Caller {
        tenant_id: found_user.user.tenant_id.clone(),
        user: found_user.user.clone(),
        access,
        credential: Credential::ApiToken {
            token_id: row.id.clone(),
            scope,
        },
        meta,
    })
}
