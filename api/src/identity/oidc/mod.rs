//! Sign in with OpenID Connect (SPEC S13). A tenant that enabled it has a sign-in page,
//! `/t/{slug}`; the flow is the authorization code flow with PKCE S256:
//!
//! 1. [`start`]: a random `state`, `nonce` and PKCE verifier are stored server-side (the
//!    `state` only as its hash, the verifier sealed; single use, 10 minutes), and the browser
//!    is sent to the provider.
//! 2. [`callback`]: the `state` is spent first (so a replay finds nothing), the provider's
//!    code is redeemed and the ID token verified ([`provider`]), the email is taken from the
//!    tenant's `email_claim` and checked, the PSA resource with that email is found, and the
//!    person is signed in exactly as a launch signs them in
//!    ([`crate::identity::session::admit`]). The browser then gets a one-time code in a URL
//!    fragment — never a token.
//! 3. [`exchange`]: the console redeems that code (60 seconds, once) for the session's
//!    tokens, the launch's answer.

pub mod provider;

use chrono::Duration;
use hubkeep_shared::ProblemCode;
use hubkeep_shared::api::{SignInMethod, TenantSignIn, TokenResponse};
use hubkeep_shared::fields::{ConsolePath, EmailDomain, FieldRule as _};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait,
    DatabaseTransaction, EntityTrait as _, QueryFilter as _,
};

use super::{lookup, secret, session};
use crate::AppState;
use crate::activity::RequestMeta;
use crate::db::entities::{
    oidc_codes, oidc_logins, psa_settings, refresh_tokens, tenant_oidc, tenants,
};
use crate::db::{self, SecretColumn, SecretText};
use crate::error::ApiError;
use crate::psa::{Priority, PsaResource};
use provider::{ClientConfig, rejected};

/// How long a started sign-in may take at the provider.
const LOGIN_TTL_MINUTES: i64 = 10;
/// How long the console has to redeem the one-time code.
const CODE_TTL_SECS: i64 = 60;

fn no_sign_in_page() -> ApiError {
    ApiError::new(
        ProblemCode::NotFound,
        "No tenant has this sign-in page, or it has not enabled OpenID Connect sign-in.",
    )
}

/// Whether the browser's binding cookie is the one the sign-in began with.
fn same_browser(browser: Option<&str>, stored_hash: &str) -> bool {
    browser.is_some_and(|b| {
        let hash = secret::hash(b);
        // Both are hex SHA-256: equal lengths, compared without an early exit.
        hash.len() == stored_hash.len()
            && hash
                .bytes()
                .zip(stored_hash.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    })
}

/// A tenant by its slug.
pub async fn tenant_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<tenants::Model>, ApiError> {
    // Slugs are lowercase ASCII; anything else is no tenant (and never reaches the query).
    if slug.len() > 40
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Ok(None);
    }
    Ok(tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// `GET /api/v1/auth/tenants/{slug}`: what the sign-in page shows.
pub async fn sign_in_page(db: &impl ConnectionTrait, slug: &str) -> Result<TenantSignIn, ApiError> {
    let tenant = tenant_by_slug(db, slug)
        .await?
        .ok_or_else(|| ApiError::new(ProblemCode::NotFound, "No tenant has this sign-in page."))?;
    let oidc = tenant_oidc::Entity::find_by_id(tenant.id.clone())
        .one(db)
        .await?;
    Ok(TenantSignIn {
        name: tenant.name,
        sign_in: oidc.iter().map(|_| SignInMethod::Oidc).collect(),
        oidc_label: oidc.map(|o| o.label),
    })
}

/// The tenant's OIDC settings with the client secret opened, or 404.
async fn configured(
    state: &AppState,
    tenant_id: &str,
) -> Result<(tenant_oidc::Model, SecretText), ApiError> {
    let row = tenant_oidc::Entity::find_by_id(tenant_id.to_owned())
        .one(&state.db)
        .await?
        .ok_or_else(no_sign_in_page)?;
    let secret = state.secrets.open(
        SecretColumn::OidcClientSecret,
        tenant_id,
        &row.client_secret,
    )?;
    Ok((row, secret))
}

/// The tenant's client at its provider, with `redirect_uri`.
fn client_of<'a>(
    oidc: &'a tenant_oidc::Model,
    client_secret: &'a SecretText,
    redirect_uri: &'a str,
) -> ClientConfig<'a> {
    ClientConfig {
        issuer: &oidc.issuer,
        client_id: &oidc.client_id,
        client_secret: client_secret.expose_secret(),
        redirect_uri,
    }
}

/// What [`start`] was asked.
#[derive(Debug)]
pub struct StartRequest<'a> {
    pub slug: &'a str,
    pub return_to: Option<&'a str>,
    /// `prompt=none`: a silent reauthorization.
    pub silent: bool,
    /// Where the provider sends the browser back: `/api/v1/auth/oidc/callback` on this hub.
    pub redirect_uri: String,
    /// The browser's binding cookie, when it already has one: two sign-ins of one browser
    /// (two tabs reauthorizing together) share it instead of undoing each other.
    pub browser: Option<String>,
}

/// A begun sign-in: where the browser goes, and the secret of the cookie that binds the
/// sign-in to this browser.
pub struct Started {
    pub url: String,
    pub browser: String,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").finish_non_exhaustive()
    }
}

/// Begins a sign-in: remembers the flow and answers the provider's authorization URL.
pub async fn start(state: &AppState, request: StartRequest<'_>) -> Result<Started, ApiError> {
    let return_to = match request.return_to {
        None => "/".to_owned(),
        Some(raw) => ConsolePath::parse(raw)
            .map_err(|why| {
                ApiError::validation(
                    "The sign-in was not begun.",
                    vec![hubkeep_shared::FieldError {
                        field: "return_to".to_owned(),
                        message: why,
                    }],
                )
            })?
            .into_string(),
    };
    let tenant = tenant_by_slug(&state.db, request.slug)
        .await?
        .ok_or_else(no_sign_in_page)?;
    let (oidc, client_secret) = configured(state, &tenant.id).await?;
    let flow_state = secret::random_secret();
    let nonce = secret::random_secret();
    let verifier = secret::random_secret();
    let client = client_of(&oidc, &client_secret, &request.redirect_uri);
    let url = state
        .oidc
        .authorization_url(&client, &flow_state, &nonce, &verifier, request.silent)
        .await?;
    let now = db::now();
    let state_hash = secret::hash(&flow_state);
    let browser = request
        .browser
        .filter(|b| {
            b.len() == 43
                && b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
        .unwrap_or_else(secret::random_secret);
    oidc_logins::ActiveModel {
        browser_hash: Set(secret::hash(&browser)),
        pkce_verifier: Set(state.secrets.seal(
            SecretColumn::OidcPkceVerifier,
            &state_hash,
            &SecretText::new(verifier),
        )),
        state_hash: Set(state_hash),
        tenant_id: Set(tenant.id),
        nonce: Set(nonce),
        return_to: Set(return_to),
        redirect_uri: Set(request.redirect_uri),
        silent: Set(request.silent),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(LOGIN_TTL_MINUTES)),
    }
    .insert(&state.db)
    .await?;
    Ok(Started { url, browser })
}

/// The query of the provider's redirect back to the hub.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The `state` the hub sent.
    pub state: Option<String>,
    /// The authorization code, on success.
    pub code: Option<String>,
    /// The provider's error (`login_required`, `access_denied`, …), on failure.
    pub error: Option<String>,
    /// The provider's words about the error.
    pub error_description: Option<String>,
}

/// How a callback ended, for the handler to answer a browser or a script.
#[derive(Debug)]
pub struct Refusal {
    /// The tenant's slug, when the `state` named a tenant: a browser goes back to its page.
    pub slug: Option<String>,
    /// The provider's own error code (`login_required`), when it sent one.
    pub reason: Option<String>,
    pub error: ApiError,
}

/// A finished sign-in: the one-time code for the console, and where it goes next.
pub struct Completed {
    pub code: String,
    pub return_to: String,
}

impl std::fmt::Debug for Completed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completed")
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// Finishes a sign-in at the provider's redirect. Nothing but the spent `state` is written
/// unless the person is signed in.
pub async fn callback(
    state: &AppState,
    query: CallbackQuery,
    browser: Option<&str>,
    meta: &RequestMeta,
) -> Result<Completed, Refusal> {
    let refuse = |slug: Option<String>, error: ApiError| Refusal {
        slug,
        reason: None,
        error,
    };
    let login = spend_state(state, query.state.as_deref(), browser)
        .await
        .map_err(|e| refuse(None, e))?;
    let tenant = tenants::Entity::find_by_id(login.tenant_id.clone())
        .one(&state.db)
        .await
        .map_err(|e| refuse(None, e.into()))?
        .ok_or_else(|| {
            refuse(
                None,
                rejected("the sign-in was begun for a tenant that is gone"),
            )
        })?;
    let slug = Some(tenant.slug.clone());
    if let Some(error) = query.error {
        let error = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect::<String>();
        return Err(Refusal {
            slug,
            error: rejected(format!("the identity provider answered `{error}`")),
            reason: Some(error),
        });
    }
    let code = query
        .code
        .ok_or_else(|| refuse(slug.clone(), rejected("the provider sent no code")))?;
    let tokens = finish(state, &tenant, &login, &code, meta)
        .await
        .map_err(|e| refuse(slug.clone(), e))?;
    let one_time = secret::random_secret();
    oidc_codes::ActiveModel {
        code_hash: Set(secret::hash(&one_time)),
        tenant_id: Set(tenant.id.clone()),
        session_id: Set(tokens.session_id),
        browser_hash: Set(login.browser_hash.clone()),
        expires_at: Set(db::now() + Duration::seconds(CODE_TTL_SECS)),
    }
    .insert(&state.db)
    .await
    .map_err(|e| refuse(slug, e.into()))?;
    Ok(Completed {
        code: one_time,
        return_to: login.return_to,
    })
}

/// Takes the sign-in of `state` out of the store: it works once, whatever happens next, and
/// only in the browser that began it (its cookie), so nobody can hand their own half-done
/// sign-in to someone else's browser (login CSRF).
async fn spend_state(
    state: &AppState,
    flow_state: Option<&str>,
    browser: Option<&str>,
) -> Result<oidc_logins::Model, ApiError> {
    let unknown =
        || rejected("the sign-in is unknown, was already used or has expired; begin again");
    let flow_state = flow_state
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or_else(unknown)?;
    let hash = secret::hash(flow_state);
    let login = oidc_logins::Entity::find_by_id(hash.clone())
        .one(&state.db)
        .await?
        .ok_or_else(unknown)?;
    // Checked before it is spent: another browser can neither finish nor spoil it.
    if !same_browser(browser, &login.browser_hash) {
        return Err(rejected("the sign-in was begun in another browser"));
    }
    let spent = oidc_logins::Entity::delete_by_id(hash)
        .exec(&state.db)
        .await?;
    // A concurrent callback with the same state deleted it first: only one may go on.
    if spent.rows_affected != 1 || login.expires_at <= db::now() {
        return Err(unknown());
    }
    Ok(login)
}

/// Redeems the provider's code, checks the email and signs the PSA person in.
async fn finish(
    state: &AppState,
    tenant: &tenants::Model,
    login: &oidc_logins::Model,
    code: &str,
    meta: &RequestMeta,
) -> Result<session::Admitted, ApiError> {
    let (oidc, client_secret) = configured(state, &tenant.id).await?;
    let verifier = state.secrets.open(
        SecretColumn::OidcPkceVerifier,
        &login.state_hash,
        &login.pkce_verifier,
    )?;
    let client = client_of(&oidc, &client_secret, &login.redirect_uri);
    let token = state
        .oidc
        .redeem(&client, code, verifier.expose_secret(), &login.nonce)
        .await?;
    let email = email_of(&oidc, &token.claims)?;
    let psa = psa_settings::Entity::find_by_id(tenant.id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("tenant {} has no psa_settings", tenant.id))
        })?;
    // A person is waiting: a foreground call (SPEC S11).
    let found = state
        .psa
        .provider(&psa, Priority::Foreground)?
        .resources_by_email(&email)
        .await?;
    let resource = one_resource(found)?;
    session::admit(
        state,
        tenant,
        &psa,
        Some(resource),
        session::SignIn::Oidc,
        meta,
    )
    .await
}

/// The email of a verified ID token, as the tenant's settings require it.
fn email_of(oidc: &tenant_oidc::Model, claims: &serde_json::Value) -> Result<String, ApiError> {
    let email = claims
        .get(&oidc.email_claim)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|e| e.contains('@'))
        .ok_or_else(|| {
            rejected(format!(
                "the ID token has no email address in its `{}` claim",
                oidc.email_claim
            ))
        })?;
    if oidc.require_email_verified {
        // Some providers send the boolean as a string.
        let verified = match claims.get("email_verified") {
            Some(serde_json::Value::Bool(v)) => *v,
            Some(serde_json::Value::String(v)) => v == "true",
            _ => false,
        };
        if !verified {
            return Err(ApiError::new(
                ProblemCode::EmailNotVerified,
                "Your identity provider does not say that your email address is verified, \
                 and this hub only signs in verified addresses.",
            ));
        }
    }
    let domains = oidc.domains();
    if !domains.is_empty()
        && !domains
            .iter()
            .filter_map(|d| EmailDomain::parse(d).ok())
            .any(|d| d.allows(email))
    {
        return Err(ApiError::new(
            ProblemCode::EmailDomainNotAllowed,
            "Your email address is not in a domain this hub signs in.",
        ));
    }
    Ok(email.to_owned())
}

/// The one PSA resource with the email: the active one when only one is active (an address
/// reused after someone left), else the only one; none or several is a refusal.
fn one_resource(mut found: Vec<PsaResource>) -> Result<PsaResource, ApiError> {
    let active = found.iter().filter(|r| r.is_active).count();
    if active == 1 {
        found.retain(|r| r.is_active);
    }
    match found.len() {
        0 => Err(ApiError::new(
            ProblemCode::PsaResourceNotFound,
            "No person in the PSA has your email address: ask an administrator to check your \
             resource in the PSA.",
        )),
        1 => Ok(found.remove(0)),
        _ => Err(ApiError::new(
            ProblemCode::PsaResourceAmbiguous,
            "Several people in the PSA have your email address, so the hub cannot tell which \
             one you are: ask an administrator to correct the PSA.",
        )),
    }
}

/// Redeems a one-time code for its session's tokens (in the handler's transaction): once,
/// within 60 seconds, while the session and the person's access last.
pub async fn exchange(
    state: &AppState,
    txn: &DatabaseTransaction,
    code: &str,
    browser: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let unknown = || rejected("the sign-in code is unknown, was already used or has expired");
    let hash = secret::hash(code);
    let row = oidc_codes::Entity::find_by_id(hash.clone())
        .one(txn)
        .await?
        .ok_or_else(unknown)?;
    // Checked before it is spent: another browser can neither redeem nor spoil it.
    if !same_browser(browser, &row.browser_hash) {
        return Err(unknown());
    }
    let spent = oidc_codes::Entity::delete_by_id(hash).exec(txn).await?;
    if spent.rows_affected != 1 || row.expires_at <= db::now() {
        return Err(unknown());
    }
    let found = lookup::session(txn, &row.session_id)
        .await?
        .ok_or_else(unknown)?;
    let session = found.credential;
    let user = found.user.ok_or_else(unknown)?;
    let decision = user.decision();
    if session.revoked_at.is_some()
        || session.expires_at <= db::now()
        || decision.level == hubkeep_shared::HubAccess::None
    {
        return Err(unknown());
    }
    // The sign-in made a refresh token nobody has seen: the console gets a fresh one.
    refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::SessionId.eq(&session.id))
        .exec(txn)
        .await?;
    let refresh_token = session::issue_refresh_token(txn, &session.id).await?;
    session::issue_tokens(
        state,
        &session.tenant_id,
        &user.user,
        &session.id,
        refresh_token,
        decision,
    )
}
