//! Sign in with OpenID Connect (SPEC S13): the public sign-in page's facts, the start of a
//! sign-in, the provider's redirect back, and the one-time code exchange.
//!
//! The start and the callback are browser navigations. A browser (`Accept: text/html`) that
//! hits a refusal is sent back to the tenant's sign-in page `/t/{slug}?error=<code>` (with
//! `&reason=<provider error>` when the provider sent one, such as `login_required`), where the
//! console explains it; any other client gets the problem+json answer. Either way nothing is
//! created.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use hubkeep_shared::api::{OidcExchange, TenantSignIn, TokenResponse};
use sea_orm::TransactionTrait;
use serde::Deserialize;

use crate::AppState;
use crate::activity::RequestMeta;
use crate::error::ApiError;
use crate::identity::oidc::{self, CallbackQuery, StartRequest};
use crate::identity::rate_limit;

/// The path the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/api/v1/auth/oidc/callback";
/// The cookie that binds a sign-in to the browser that began it (login CSRF), sent only to
/// the sign-in's own paths.
const BROWSER_COOKIE: &str = "hubkeep_oidc_browser";
const COOKIE_PATH: &str = "/api/v1/auth/oidc";

/// `[http] public_url` + the callback path: the redirect URI to register at the provider.
pub fn public_redirect_uri(state: &AppState) -> Option<String> {
    state
        .settings
        .http
        .public_url
        .as_ref()
        .map(|url| format!("{}{CALLBACK_PATH}", url.trim().trim_end_matches('/')))
}

/// The redirect URI of a sign-in: the public one, or, on a server without `[http]
/// public_url` (a developer's machine), `http://` + the request's own `Host` header —
/// never a forwarding header, which anyone may send. A wrong host only makes the provider
/// refuse the request (it compares with the registered URIs).
fn redirect_uri(state: &AppState, req: &HttpRequest) -> String {
    public_redirect_uri(state).unwrap_or_else(|| {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.contains(['/', '\\', '@', '?', '#']))
            .unwrap_or("127.0.0.1");
        format!("http://{host}{CALLBACK_PATH}")
    })
}

/// The binding cookie's name and path: under an https public URL a `__Host-` cookie (Secure,
/// path `/`, no `Domain`), which a sibling subdomain cannot plant; over plain http (a
/// developer's machine) a cookie sent only to the sign-in's own paths.
fn cookie_name_and_path(state: &AppState) -> (&'static str, &'static str) {
    if state.settings.http.is_https() {
        ("__Host-hubkeep_oidc_browser", "/")
    } else {
        (BROWSER_COOKIE, COOKIE_PATH)
    }
}

/// The browser-binding cookie, as set at the start.
fn browser_cookie(
    state: &AppState,
    value: &str,
    max_age_secs: i64,
) -> actix_web::cookie::Cookie<'static> {
    let (name, path) = cookie_name_and_path(state);
    actix_web::cookie::Cookie::build(name, value.to_owned())
        .path(path)
        .http_only(true)
        .secure(state.settings.http.is_https())
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

fn browser_of(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(cookie_name_and_path(state).0)
        .map(|c| c.value().to_owned())
}

/// A sign-in begins on this hub's own pages, or from an address typed or bookmarked: a
/// browser that says another site sent it (`Sec-Fetch-Site: cross-site|same-site`) is
/// refused, so no web page can sign its visitors in behind their backs (a silent
/// `prompt=none` would otherwise finish unseen). Scripts send no such header.
fn begun_here(req: &HttpRequest) -> Result<(), ApiError> {
    match req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("same-origin" | "none") => Ok(()),
        Some(_) => Err(ApiError::new(
            hubkeep_shared::ProblemCode::Forbidden,
            "A sign-in begins on the hub's own sign-in page; another site cannot begin one.",
        )),
    }
}

/// What a tenant's sign-in page shows.
///
/// Public: the console's page `/t/{slug}` reads it to offer "Sign in with <label>".
#[utoipa::path(
    operation_id = "get_tenant_sign_in",
    tag = "auth",
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses(
        (status = 200, description = "The sign-in page", body = TenantSignIn),
    ),
    security(())
)]
#[get("/auth/tenants/{slug}")]
pub async fn get_tenant_sign_in(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let page = oidc::sign_in_page(&state.reader, &slug).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `?return_to=&prompt=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The console path to open after signing in (default `/`); only console paths.
    pub return_to: Option<String>,
    /// `none`: a silent reauthorization, answered without a prompt when the person is
    /// still signed in at the provider (and `login_required` otherwise).
    pub prompt: Option<String>,
}

/// Begin an OpenID Connect sign-in (a browser navigation).
///
/// Answers 302 to the tenant's provider (authorization code flow, PKCE S256, `state` and
/// `nonce` kept server-side for 10 minutes, single use) and sets a cookie that binds the
/// sign-in to this browser (the callback and the exchange require it). `return_to` must be a
/// console path. A browser sent here by another site is refused (403 `forbidden`): link to
/// the sign-in page `/t/{slug}` instead.
#[utoipa::path(
    operation_id = "start_oidc_sign_in",
    tag = "auth",
    params(("slug" = String, Path, description = "The tenant's slug"), StartQuery),
    responses(
        (status = 302, description = "To the identity provider", headers(("Location" = String, description = "The provider's authorization URL"))),
    ),
    security(())
)]
#[get("/auth/oidc/{slug}/start")]
pub async fn start_oidc_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    slug: web::Path<String>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let browser = wants_html(&req);
    let started = async {
        begun_here(&req)?;
        rate_limit::check(&state.db, "oidc-start", &meta, state.launch_limit()).await?;
        let silent = match query.prompt.as_deref() {
            None => false,
            Some("none") => true,
            Some(_) => {
                return Err(ApiError::validation(
                    "The sign-in was not begun.",
                    vec![hubkeep_shared::FieldError {
                        field: "prompt".to_owned(),
                        message: "must be `none` or absent".to_owned(),
                    }],
                ));
            }
        };
        oidc::start(
            &state,
            StartRequest {
                slug: &slug,
                return_to: query.return_to.as_deref(),
                silent,
                redirect_uri: redirect_uri(&state, &req),
                browser: browser_of(&state, &req),
            },
        )
        .await
    }
    .await;
    match started {
        Ok(started) => {
            let mut response = redirect(&started.url);
            response
                .add_cookie(&browser_cookie(&state, &started.browser, 600))
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("the sign-in cookie: {e}")))?;
            Ok(response)
        }
        // A browser goes back to the page it came from, which says what went wrong; an
        // unknown page has nothing to go back to.
        Err(e)
            if browser
                && e.problem().known_code() != Some(hubkeep_shared::ProblemCode::NotFound) =>
        {
            Ok(back_to_sign_in(&slug, &e, None))
        }
        Err(e) => Err(e),
    }
}

/// The identity provider's redirect back to the hub (a browser navigation).
///
/// Spends the `state` (once), redeems the code, verifies the ID token, finds the PSA person
/// by email and signs them in as a launch would (`user.signed_in` with `method: "oidc"`).
/// Answers 303 to `/signin/complete#code=…&return_to=…`: the one-time code is in the
/// fragment, which never reaches a server or a log, and tokens never appear in a URL.
#[utoipa::path(
    operation_id = "finish_oidc_sign_in",
    tag = "auth",
    params(CallbackQuery),
    responses(
        (status = 303, description = "To the console with a one-time code", headers(("Location" = String, description = "`/signin/complete#code=…&return_to=…`"))),
    ),
    security(())
)]
#[get("/auth/oidc/callback")]
pub async fn finish_oidc_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    rate_limit::check(&state.db, "oidc-callback", &meta, state.launch_limit()).await?;
    let browser = browser_of(&state, &req);
    match oidc::callback(&state, query.into_inner(), browser.as_deref(), &meta).await {
        Ok(done) => {
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("code", &done.code)
                .append_pair("return_to", &done.return_to)
                .finish();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/signin/complete#{fragment}")))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        Err(refusal) => match refusal.slug {
            Some(slug) if wants_html(&req) => Ok(back_to_sign_in(
                &slug,
                &refusal.error,
                refusal.reason.as_deref(),
            )),
            _ => Err(refusal.error),
        },
    }
}

/// Redeem the one-time code of a finished OpenID Connect sign-in.
///
/// The code comes from the fragment of `/signin/complete`; it works once, within 60 seconds,
/// in the browser that began the sign-in (its cookie), and answers what a launch answers:
/// the session's access and refresh tokens and the user.
#[utoipa::path(
    operation_id = "exchange_oidc_code",
    tag = "auth",
    request_body = OidcExchange,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
    ),
    security(())
)]
#[post("/auth/oidc/exchange")]
pub async fn exchange_oidc_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    body: crate::http::extractors::JsonBody<OidcExchange>,
) -> Result<HttpResponse, ApiError> {
    rate_limit::check(&state.db, "oidc-exchange", &meta, state.launch_limit()).await?;
    let browser = browser_of(&state, &req);
    let txn = state.db.begin().await?;
    let tokens = oidc::exchange(&state, &txn, &body.code, browser.as_deref()).await?;
    txn.commit().await?;
    // The binding cookie stays until it expires: another tab's sign-in may still need it.
    Ok(super::auth::tokens_response(&tokens))
}

fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `/t/{slug}?error=<code>[&reason=<provider error>]`.
fn back_to_sign_in(slug: &str, error: &ApiError, reason: Option<&str>) -> HttpResponse {
    let code = error.problem().code;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", &code);
    if let Some(reason) = reason {
        query.append_pair("reason", reason);
    }
    if let ApiError::Internal(cause) = error {
        tracing::error!(error = ?cause, "OpenID Connect sign-in failed");
    }
    let slug: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/t/{slug}?{}", query.finish())))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
