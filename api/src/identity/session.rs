//! Launch sign-in, refresh and logout (SPEC S3.2, S3.3).

use std::ops::ControlFlow;

use chrono::{DateTime, Duration, Utc};
use hubkeep_shared::{
    AccessDecision, AccessSource, Elevation, HubAccess, LevelFacts, ProblemCode, UserId,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, TransactionTrait,
};
use serde_json::json;

use super::{access_token, launch, secret};
use crate::AppState;
use crate::activity::RequestMeta;
use crate::activity::{self, Actor, Target, actions};
use crate::db::{
    self,
    entities::{
        elevated_levels, launch_assertions, psa_settings, refresh_tokens, security_levels,
        sessions, tenant_settings, tenants, users,
    },
};
use crate::error::ApiError;
use crate::hub_access::{Why, decide, stamp, withdraw_credentials};
use crate::psa::{Priority, PsaResource};
pub use hubkeep_shared::api::tokens::{LaunchRequest, RefreshRequest, TokenResponse};

fn refused(code: ProblemCode, detail: impl Into<String>) -> ApiError {
    ApiError::new(code, detail)
}

/// Why a sign-in attempt must be retried from the top: a concurrent first sign-in won the
/// primary slot or created the same user.
enum Attempt {
    Done(Result<Box<Admitted>, ApiError>),
    Race,
}

/// A finished sign-in: the new session's tokens and its id.
#[derive(Debug)]
pub struct Admitted {
    pub tokens: TokenResponse,
    pub session_id: String,
}

/// Verifies a launch assertion and signs the resource in.
///
/// Unlike the other writes, this begins and commits its own transactions (one per attempt):
/// the PSA is asked before any is open, a race with a concurrent first sign-in is retried in
/// a fresh one (a unique violation aborts a PostgreSQL transaction), and a refused sign-in of
/// an existing user commits the refreshed snapshot and `user.sign_in_refused` before the
/// error, which a plain `Result` cannot ask of a handler.
pub async fn launch(
    state: &AppState,
    assertion: &str,
    meta: &RequestMeta,
) -> Result<TokenResponse, ApiError> {
    let issuer = launch::peek_issuer(assertion)?;
    let unknown = launch::not_from_a_known_launcher;
    let tenant = tenants::Entity::find()
        .filter(tenants::Column::PsaId.eq(&issuer))
        .one(&state.db)
        .await?
        .ok_or_else(unknown)?;
    let psa = psa_settings::Entity::find_by_id(tenant.id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(unknown)?;
    let launch_secret = state.secrets.launch_secret(&psa)?;
    let assertion = launch::verify(assertion, &tenant.psa_id, launch_secret.expose_secret())?;
    let already_used =
        launch_assertions::Entity::find_by_id((tenant.id.clone(), assertion.jti.clone()))
            .one(&state.db)
            .await?
            .is_some();
    if already_used {
        return Err(replayed());
    }

    // The PSA first: if it cannot answer, nothing has been written.
    // A person is waiting: foreground calls, never refused for the budget (SPEC S11).
    let provider = state.psa.provider(&psa, Priority::Foreground)?;
    let resource = provider.resource(assertion.resource_id).await?;
    let admitted = admit(
        state,
        &tenant,
        &psa,
        resource,
        SignIn::Launch(&assertion),
        meta,
    )
    .await;
    forget_expired_assertions(state).await;
    admitted.map(|a| a.tokens)
}

/// How a person proved who they are: a launch assertion (redeemed once, in the sign-in's
/// transaction) or an OpenID Connect sign-in (whose `state` was already spent).
#[derive(Debug, Clone, Copy)]
pub enum SignIn<'a> {
    Launch(&'a launch::Assertion),
    Oidc,
}

impl SignIn<'_> {
    /// `method` of `user.signed_in`.
    fn method(self) -> &'static str {
        match self {
            Self::Launch(_) => "launch",
            Self::Oidc => "oidc",
        }
    }
}

/// Signs in the PSA's `resource` exactly as a launch does (SPEC S2, G4, the first sign-in
/// creates the user): reads the security levels, refuses a resource the PSA does not have,
/// then signs in, retrying a race with a concurrent first sign-in.
pub async fn admit(
    state: &AppState,
    tenant: &tenants::Model,
    psa: &psa_settings::Model,
    resource: Option<PsaResource>,
    how: SignIn<'_>,
    meta: &RequestMeta,
) -> Result<Admitted, ApiError> {
    let levels = state
        .psa
        .fresh_levels(&state.db, psa, Priority::Foreground)
        .await?;
    let Some(resource) = resource else {
        return Err(refused(
            ProblemCode::AccessNotEligible,
            "The PSA has no such resource.",
        ));
    };
    let level = level_of(&levels, resource.security_level_id);

    for _ in 0..3 {
        match sign_in(state, tenant, how, &resource, level.clone(), meta).await? {
            Attempt::Done(result) => return result.map(|admitted| *admitted),
            Attempt::Race => continue,
        }
    }
    Err(ApiError::new(
        ProblemCode::Conflict,
        "Concurrent sign-ins collided; try again.",
    ))
}

/// A `jti` only has to be remembered until its assertion has expired (leeway included):
/// after that, `exp` refuses it anyway. Best effort: a failure only leaves rows for later.
async fn forget_expired_assertions(state: &AppState) {
    let horizon = db::now() - Duration::minutes(10);
    let result = launch_assertions::Entity::delete_many()
        .filter(launch_assertions::Column::ExpiresAt.lt(horizon))
        .exec(&state.db)
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not prune redeemed launch assertions");
    }
}

fn replayed() -> ApiError {
    ApiError::new(
        ProblemCode::Unauthenticated,
        "the launch assertion was rejected: it has already been used",
    )
}

fn level_of(levels: &[security_levels::Model], level_id: i64) -> Option<(LevelFacts, String)> {
    levels
        .iter()
        .find(|l| l.id == level_id)
        .map(|l| (l.facts(), l.name.clone()))
}

/// Copies the PSA's view of the resource onto the user and stamps the time.
fn apply_snapshot(
    user: &mut users::Model,
    resource: &PsaResource,
    level: &Option<(LevelFacts, String)>,
    now: chrono::DateTime<chrono::Utc>,
) {
    crate::identity::users::apply_snapshot(user, resource, level.as_ref().map(|(_, n)| n.as_str()));
    user.snapshot_refreshed_at = now;
    user.updated_at = now;
}

async fn in_elevated_set(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    level_id: i64,
) -> Result<bool, sea_orm::DbErr> {
    Ok(
        elevated_levels::Entity::find_by_id((tenant_id.to_owned(), level_id))
            .one(db)
            .await?
            .is_some(),
    )
}

/// One sign-in attempt in one transaction: redeem the assertion, admit the user, open a
/// session.
async fn sign_in(
    state: &AppState,
    tenant: &tenants::Model,
    how: SignIn<'_>,
    resource: &PsaResource,
    level: Option<(LevelFacts, String)>,
    meta: &RequestMeta,
) -> Result<Attempt, ApiError> {
    let now = db::now();
    // Its own transaction, not the handler's: see [`launch`].
    let txn = state.db.begin().await?;
    if let SignIn::Launch(assertion) = how
        && !redeem_assertion(&txn, &tenant.id, assertion, now).await?
    {
        return Ok(Attempt::Done(Err(replayed())));
    }
    let in_set = in_elevated_set(&txn, &tenant.id, resource.security_level_id).await?;
    let admission = Admission {
        tenant,
        resource,
        facts: level.as_ref().map(|(f, _)| *f),
        level,
        in_set,
        now,
    };
    let existing = users::Entity::find()
        .filter(users::Column::TenantId.eq(&tenant.id))
        .filter(users::Column::PsaResourceId.eq(resource.id))
        .one(&txn)
        .await?;

    let (user, created) = match existing {
        None => match admission.create_user(&txn).await? {
            ControlFlow::Continue(user) => (user, true),
            ControlFlow::Break(attempt) => return Ok(attempt),
        },
        Some(before) => {
            let mut user = before.clone();
            let decision = admission.assess(&mut user);
            if decision.level == HubAccess::None {
                // Keep the refreshed snapshot (so open sessions stop at once) and say why.
                admission
                    .record_refusal(&txn, before, &user, decision, meta)
                    .await?;
                txn.commit().await?;
                return Ok(Attempt::Done(Err(refusal_error(&user))));
            }
            (store_snapshot(&txn, before, &user, Some(now)).await?, false)
        }
    };

    let lifetime = session_lifetime(state, &txn, &tenant.id).await?;
    let (session, refresh_token) = create_session(&txn, &user, lifetime, meta).await?;
    admission
        .record_sign_in(&txn, &user, &session.id, created, how, meta)
        .await?;
    let decision = decide(&user, admission.facts, admission.in_set);
    txn.commit().await?;
    let tokens = issue_tokens(
        state,
        &tenant.id,
        &user,
        &session.id,
        refresh_token,
        decision,
    )?;
    Ok(Attempt::Done(Ok(Box::new(Admitted {
        tokens,
        session_id: session.id,
    }))))
}

/// Records the assertion's `jti` as used; `false` when it already was (a replay).
async fn redeem_assertion(
    txn: &DatabaseTransaction,
    tenant_id: &str,
    assertion: &launch::Assertion,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let consumed = launch_assertions::ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        jti: Set(assertion.jti.clone()),
        expires_at: Set(assertion.expires_at),
        used_at: Set(now),
    }
    .insert(txn)
    .await;
    match consumed {
        Ok(_) => Ok(true),
        Err(e) if db::violates(&e, &[db::Unique::LaunchJti]) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What one sign-in attempt knows about the resource before it touches the user's row.
struct Admission<'a> {
    tenant: &'a tenants::Model,
    resource: &'a PsaResource,
    level: Option<(LevelFacts, String)>,
    facts: Option<LevelFacts>,
    in_set: bool,
    now: DateTime<Utc>,
}

impl Admission<'_> {
    /// Copies the PSA's snapshot onto the user and stamps the access it now decides.
    fn assess(&self, user: &mut users::Model) -> AccessDecision {
        apply_snapshot(user, self.resource, &self.level, self.now);
        let decision = decide(user, self.facts, self.in_set);
        stamp(user, decision);
        decision
    }

    /// Creates the user of a resource signing in for the first time, or says why not.
    async fn create_user(
        &self,
        txn: &DatabaseTransaction,
    ) -> Result<ControlFlow<Attempt, users::Model>, ApiError> {
        let is_first = users::Entity::find()
            .filter(users::Column::TenantId.eq(&self.tenant.id))
            .one(txn)
            .await?
            .is_none();
        if is_first && !self.facts.unwrap_or_default().eligible_for_elevation() {
            return Ok(ControlFlow::Break(Attempt::Done(Err(refused(
                ProblemCode::PrimaryRequiresElevation,
                "The first person to sign in becomes the primary user and must have a \
                 security level eligible for elevation.",
            )))));
        }
        let mut user = blank_user(&self.tenant.id, self.resource.id, is_first, self.now);
        let decision = self.assess(&mut user);
        if decision.level == HubAccess::None {
            // Nobody is created for a resource the PSA does not let in.
            return Ok(ControlFlow::Break(Attempt::Done(Err(not_eligible()))));
        }
        match users::ActiveModel::from(user).insert(txn).await {
            Ok(user) => Ok(ControlFlow::Continue(user)),
            Err(e) if db::violates(&e, &[db::Unique::PrimaryUser, db::Unique::UserPerResource]) => {
                Ok(ControlFlow::Break(Attempt::Race))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the refused user's refreshed snapshot and logs `user.sign_in_refused`.
    async fn record_refusal(
        &self,
        txn: &DatabaseTransaction,
        before: users::Model,
        user: &users::Model,
        decision: AccessDecision,
        meta: &RequestMeta,
    ) -> Result<(), ApiError> {
        store_snapshot(txn, before, user, None).await?;
        withdraw_credentials(txn, user, Why::PsaChanged, &Actor::System, meta).await?;
        activity::record(
            txn,
            activity::Entry {
                tenant_id: &self.tenant.id,
                actor: &Actor::System,
                action: actions::USER_SIGN_IN_REFUSED,
                target: Target::new("user", &user.id, &user.display_name),
                connection_id: None,
                details: json!({ "reason": decision.source }),
                meta,
            },
        )
        .await?;
        Ok(())
    }

    /// Logs `user.signed_in` for the new session.
    async fn record_sign_in(
        &self,
        txn: &DatabaseTransaction,
        user: &users::Model,
        session_id: &str,
        created: bool,
        how: SignIn<'_>,
        meta: &RequestMeta,
    ) -> Result<(), ApiError> {
        activity::record(
            txn,
            activity::Entry {
                tenant_id: &self.tenant.id,
                actor: &Actor::User {
                    user_id: user.id.clone(),
                    label: user.display_name.clone(),
                },
                action: actions::USER_SIGNED_IN,
                target: Target::new("user", &user.id, &user.display_name),
                connection_id: None,
                details: json!({
                    "session_id": session_id,
                    "method": how.method(),
                    "first_sign_in": created,
                    "primary": user.is_primary && created,
                }),
                meta,
            },
        )
        .await?;
        Ok(())
    }
}

/// A new user row for a resource, before the PSA's snapshot and the access stamp are applied.
fn blank_user(
    tenant_id: &str,
    psa_resource_id: i64,
    is_primary: bool,
    now: DateTime<Utc>,
) -> users::Model {
    users::Model {
        id: UserId::new(db::new_id()),
        tenant_id: tenant_id.to_owned(),
        psa_resource_id,
        first_name: String::new(),
        last_name: String::new(),
        display_name: String::new(),
        email: String::new(),
        email_key: String::new(),
        user_name: String::new(),
        resource_active: false,
        security_level_id: 0,
        security_level_name: String::new(),
        active: true,
        elevation: Elevation::Inherit,
        is_primary,
        access_rank: 0,
        // Stamped from the access decision before the row is written.
        access_source: AccessSource::LevelNotEligible,
        name_key: String::new(),
        first_sign_in_at: now,
        last_accessed_at: now,
        snapshot_refreshed_at: now,
        updated_at: now,
    }
}

/// The error for an existing user refused at sign-in: deactivated, or not eligible.
fn refusal_error(user: &users::Model) -> ApiError {
    if user.active {
        not_eligible()
    } else {
        refused(
            ProblemCode::UserInactive,
            "Your hub access was deactivated by an administrator.",
        )
    }
}

/// Writes the refreshed snapshot over the stored user, and the access time when given.
async fn store_snapshot(
    txn: &DatabaseTransaction,
    before: users::Model,
    updated: &users::Model,
    accessed_at: Option<DateTime<Utc>>,
) -> Result<users::Model, ApiError> {
    let mut active: users::ActiveModel = before.into();
    copy_snapshot(&mut active, updated);
    if let Some(at) = accessed_at {
        active.last_accessed_at = Set(at);
    }
    Ok(active.update(txn).await?)
}

/// Signs an access token for the session and packs it with the refresh token and user view.
pub(crate) fn issue_tokens(
    state: &AppState,
    tenant_id: &str,
    user: &users::Model,
    session_id: &str,
    refresh_token: String,
    decision: AccessDecision,
) -> Result<TokenResponse, ApiError> {
    let (access_token, expires_in) = access_token::issue(
        &state.keys,
        &state.settings.auth.issuer,
        state.settings.auth.access_token_ttl_secs,
        tenant_id,
        &user.id,
        session_id,
    )?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in,
        user: crate::identity::users::user_view(user, decision),
    })
}

fn not_eligible() -> ApiError {
    refused(
        ProblemCode::AccessNotEligible,
        "The PSA does not allow this resource into the hub: the resource or its security \
         level is inactive, or the level may not open the hub menu.",
    )
}

fn copy_snapshot(active: &mut users::ActiveModel, user: &users::Model) {
    active.first_name = Set(user.first_name.clone());
    active.last_name = Set(user.last_name.clone());
    active.display_name = Set(user.display_name.clone());
    active.name_key = Set(user.name_key.clone());
    active.access_rank = Set(user.access_rank);
    active.access_source = Set(user.access_source);
    active.email = Set(user.email.clone());
    active.email_key = Set(user.email_key.clone());
    active.user_name = Set(user.user_name.clone());
    active.resource_active = Set(user.resource_active);
    active.security_level_id = Set(user.security_level_id);
    active.security_level_name = Set(user.security_level_name.clone());
    active.snapshot_refreshed_at = Set(user.snapshot_refreshed_at);
    active.updated_at = Set(user.updated_at);
}

async fn session_lifetime(
    state: &AppState,
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<Duration, ApiError> {
    let hours = tenant_settings::Entity::find_by_id(tenant_id.to_owned())
        .one(db)
        .await?
        .map_or(i64::from(state.settings.auth.session_lifetime_hours), |s| {
            i64::from(s.session_lifetime_hours)
        });
    Ok(Duration::hours(hours))
}

async fn create_session(
    txn: &DatabaseTransaction,
    user: &users::Model,
    lifetime: Duration,
    meta: &RequestMeta,
) -> Result<(sessions::Model, String), ApiError> {
    let now = db::now();
    let session = sessions::ActiveModel {
        id: Set(db::new_id()),
        tenant_id: Set(user.tenant_id.clone()),
        user_id: Set(user.id.clone()),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
        last_refreshed_at: Set(now),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.clone()),
    }
    .insert(txn)
    .await?;
    let refresh_token = issue_refresh_token(txn, &session.id).await?;
    Ok((session, refresh_token))
}

pub(crate) async fn issue_refresh_token(
    db: &impl ConnectionTrait,
    session_id: &str,
) -> Result<String, ApiError> {
    let token = secret::random_secret();
    refresh_tokens::ActiveModel {
        token_hash: Set(secret::hash(&token)),
        session_id: Set(session_id.to_owned()),
        issued_at: Set(db::now()),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Marks a session revoked (if it is not already) and logs `session.revoked`.
pub async fn revoke_session(
    db: &impl ConnectionTrait,
    session: &sessions::Model,
    reason: &str,
    actor: &Actor,
    action: &'static str,
    meta: &RequestMeta,
) -> Result<bool, ApiError> {
    let result = sessions::Entity::update_many()
        .col_expr(
            sessions::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(db::now())),
        )
        .col_expr(
            sessions::Column::RevokedReason,
            sea_orm::sea_query::Expr::value(Some(reason.to_owned())),
        )
        .filter(sessions::Column::Id.eq(&session.id))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(false);
    }
    activity::record(
        db,
        activity::Entry {
            tenant_id: &session.tenant_id,
            actor,
            action,
            target: Target::new("session", &session.id, &session.user_id),
            connection_id: None,
            details: json!({ "reason": reason, "user_id": session.user_id }),
            meta,
        },
    )
    .await?;
    Ok(true)
}

fn reauthorize(why: &str) -> ApiError {
    ApiError::new(
        ProblemCode::ReauthorizationRequired,
        format!("{why}: sign in again."),
    )
}

/// Exchanges a refresh token for new tokens, re-reading the PSA (SPEC S3.3).
///
/// Unlike the other writes, this begins and commits its own transactions: the PSA is asked
/// between the reads and the transaction, and refusals commit before their error, which a
/// plain `Result` cannot ask of a handler. A token presented again revokes the session in a
/// transaction of its own (also when the second use is only found once the main transaction
/// has begun, which is then dropped); withdrawn access revokes it with the refreshed snapshot.
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    meta: &RequestMeta,
) -> Result<TokenResponse, ApiError> {
    let hash = secret::hash(refresh_token);
    let session = live_session(state, &hash, meta).await?;
    let user = users::Entity::find_by_id(session.user_id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| reauthorize("The user no longer exists"))?;
    let psa = crate::psa::registry::settings_of(&state.db, &user.tenant_id).await?;

    // The PSA first: if it cannot answer, the refresh token stays valid for a retry.
    let resource = state
        .psa
        .provider(&psa, Priority::Foreground)?
        .resource(user.psa_resource_id)
        .await?;
    let levels = state
        .psa
        .fresh_levels(&state.db, &psa, Priority::Foreground)
        .await?;

    let now = db::now();
    // Its own transaction, not the handler's: see [`refresh`].
    let txn = state.db.begin().await?;
    if !spend_refresh_token(&txn, &hash, now).await? {
        // A concurrent request used it first: the same token twice is a replay.
        drop(txn);
        revoke_for_reuse(state, &session, meta).await?;
        return Err(reauthorize(TOKEN_REUSED));
    }
    let (updated, decision) = reassess(&txn, &user, resource.as_ref(), &levels, now).await?;
    let accessed_at = (decision.level != HubAccess::None).then_some(now);
    let user = store_snapshot(&txn, user, &updated, accessed_at).await?;
    if decision.level == HubAccess::None {
        revoke_session(
            &txn,
            &session,
            "access_withdrawn",
            &Actor::System,
            actions::SESSION_REVOKED,
            meta,
        )
        .await?;
        // And every other credential of theirs (SPEC S12).
        withdraw_credentials(&txn, &user, Why::PsaChanged, &Actor::System, meta).await?;
        txn.commit().await?;
        return Err(reauthorize("Your hub access has changed"));
    }
    let refresh_token = rotate_session(&txn, &session, &user, now, meta).await?;
    txn.commit().await?;
    issue_tokens(
        state,
        &user.tenant_id,
        &user,
        &session.id,
        refresh_token,
        decision,
    )
}

/// Why a refresh token presented a second time is refused.
const TOKEN_REUSED: &str = "This refresh token was already used, so the session was revoked";

/// Finds the session behind a refresh token, refusing unknown, revoked, reused (revoking the
/// session) and expired ones.
async fn live_session(
    state: &AppState,
    hash: &str,
    meta: &RequestMeta,
) -> Result<sessions::Model, ApiError> {
    let row = refresh_tokens::Entity::find_by_id(hash.to_owned())
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::Unauthenticated,
                "Unknown refresh token: sign in again.",
            )
        })?;
    let session = sessions::Entity::find_by_id(row.session_id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| reauthorize("The session no longer exists"))?;
    if session.revoked_at.is_some() {
        return Err(reauthorize("The session was revoked"));
    }
    if row.used_at.is_some() {
        revoke_for_reuse(state, &session, meta).await?;
        return Err(reauthorize(TOKEN_REUSED));
    }
    if session.expires_at <= db::now() {
        return Err(reauthorize("The session is over"));
    }
    Ok(session)
}

/// Marks the refresh token used; `false` when a concurrent request already had.
async fn spend_refresh_token(
    txn: &DatabaseTransaction,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let used = refresh_tokens::Entity::update_many()
        .col_expr(
            refresh_tokens::Column::UsedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(refresh_tokens::Column::TokenHash.eq(hash))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    Ok(used.rows_affected != 0)
}

/// Applies the PSA's current answer to a copy of the user and decides their access anew.
async fn reassess(
    txn: &DatabaseTransaction,
    user: &users::Model,
    resource: Option<&PsaResource>,
    levels: &[security_levels::Model],
    now: DateTime<Utc>,
) -> Result<(users::Model, AccessDecision), ApiError> {
    let mut updated = user.clone();
    let level = resource.and_then(|r| level_of(levels, r.security_level_id));
    match resource {
        Some(r) => apply_snapshot(&mut updated, r, &level, now),
        // The PSA no longer knows the resource: it is as good as inactive.
        None => updated.resource_active = false,
    }
    let in_set = in_elevated_set(txn, &user.tenant_id, updated.security_level_id).await?;
    let decision = decide(&updated, level.as_ref().map(|(f, _)| *f), in_set);
    stamp(&mut updated, decision);
    Ok((updated, decision))
}

/// Issues the next refresh token, stamps the session refreshed and logs `session.refreshed`.
async fn rotate_session(
    txn: &DatabaseTransaction,
    session: &sessions::Model,
    user: &users::Model,
    now: DateTime<Utc>,
    meta: &RequestMeta,
) -> Result<String, ApiError> {
    let refresh_token = issue_refresh_token(txn, &session.id).await?;
    sessions::Entity::update_many()
        .col_expr(
            sessions::Column::LastRefreshedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(sessions::Column::Id.eq(&session.id))
        .exec(txn)
        .await?;
    activity::record(
        txn,
        activity::Entry {
            tenant_id: &user.tenant_id,
            actor: &Actor::User {
                user_id: user.id.clone(),
                label: user.display_name.clone(),
            },
            action: actions::SESSION_REFRESHED,
            target: Target::new("session", &session.id, &user.display_name),
            connection_id: None,
            details: json!({}),
            meta,
        },
    )
    .await?;
    Ok(refresh_token)
}

/// Revokes a session whose refresh token came back, in a transaction of its own that commits
/// before the refusal (see [`refresh`]).
async fn revoke_for_reuse(
    state: &AppState,
    session: &sessions::Model,
    meta: &RequestMeta,
) -> Result<(), ApiError> {
    let txn = state.db.begin().await?;
    revoke_session(
        &txn,
        session,
        "refresh_token_reused",
        &Actor::System,
        actions::SESSION_REVOKED,
        meta,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the caller's session, in the handler's transaction.
pub async fn logout(
    txn: &DatabaseTransaction,
    caller: &super::caller::Caller,
) -> Result<(), ApiError> {
    let session_id = caller.require_session("Signing out")?;
    let session = sessions::Entity::find_by_id(session_id.to_owned())
        .one(txn)
        .await?
        .ok_or_else(|| reauthorize("The session no longer exists"))?;
    revoke_session(
        txn,
        &session,
        "signed_out",
        &caller.actor(),
        actions::USER_SIGNED_OUT,
        &caller.meta,
    )
    .await?;
    Ok(())
}
