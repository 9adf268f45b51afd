//! Signing in with OpenID Connect (SPEC S13): the tenant's sign-in page, the one-time code
//! exchange, and what the browser remembers between sign-ins.
//!
//! A sign-in starts with a navigation, not a call: the server answers it with a redirect to
//! the identity provider, so the console sets `window.location` to [`start_url`]. The
//! tenant's slug is kept in `localStorage` once someone starts a sign-in this way, and a
//! session the provider signed in is marked in the tab's `sessionStorage`, so that when such
//! a session ends it can be renewed at the provider without a prompt (`prompt=none`) instead
//! of sending the person back through the PSA. A time in `sessionStorage` keeps that to one
//! attempt a minute (a provider that answers `login_required`, or a session refused again at
//! once, cannot make the tab loop), and a sign-out in any tab stops it until the person
//! begins a sign-in themselves.

use hubkeep_shared::api::{OidcExchange, SignInMethod, TenantSignIn, TokenResponse};
use hubkeep_shared::fields::{ConsolePath, FieldRule as _, TenantSlug};
use leptos::prelude::*;
use serde::Serialize;

use super::{ClientError, get_public, post_public, seg, storage, with_query};

/// `localStorage`: the slug of the tenant this browser last began an OIDC sign-in at.
const SLUG_KEY: &str = "hubkeep.oidc_slug";
/// `sessionStorage`: when this tab last tried (or refused) a silent sign-in, in ms.
const SILENT_KEY: &str = "hubkeep.oidc_silent_tried";
/// `sessionStorage`: where the last silent attempt was to return to. When the provider
/// answers `login_required` instead, the tenant's sign-in page sends the person back there.
const RETURN_KEY: &str = "hubkeep.oidc_return_to";
/// `sessionStorage`: the tenant whose identity provider signed this tab's session in. Only
/// such a session is renewed silently: a PSA launch's never is, and never at another tenant.
const SESSION_SLUG_KEY: &str = "hubkeep.oidc_session_slug";
/// `localStorage`: set when someone signs out, in any tab; no tab signs in silently until
/// the person begins a sign-in themselves.
const SIGNED_OUT_KEY: &str = "hubkeep.oidc_signed_out";
/// No second silent attempt within this time of the last.
const SILENT_EVERY_MS: f64 = 60_000.0;

/// `GET /api/v1/auth/tenants/{slug}`: what the tenant's sign-in page offers.
pub async fn tenant(slug: String) -> Result<TenantSignIn, ClientError> {
    get_public(&format!("/api/v1/auth/tenants/{}", seg(&slug))).await
}

/// `POST /api/v1/auth/oidc/exchange`: redeems the one-time code of a finished sign-in for a
/// session, exactly as a launch does.
pub async fn exchange(code: String) -> Result<TokenResponse, ClientError> {
    post_public("/api/v1/auth/oidc/exchange", &OidcExchange { code }).await
}

/// Whether the tenant lets people sign in with its identity provider.
pub fn offers_oidc(page: &TenantSignIn) -> bool {
    page.sign_in.contains(&SignInMethod::Oidc)
}

/// `?return_to=&prompt=` of the start of a sign-in.
#[derive(Serialize)]
struct StartQuery<'a> {
    return_to: &'a str,
    prompt: Option<&'static str>,
}

/// `/api/v1/auth/oidc/{slug}/start?return_to=…[&prompt=none]`: where the browser goes to
/// sign in. `return_to` is kept only when it is a path of the console (else `/`): the server
/// refuses anything else.
pub fn start_url(slug: &str, return_to: &str, silent: bool) -> String {
    let query = StartQuery {
        return_to: console_path_or_root(return_to),
        prompt: silent.then_some("none"),
    };
    with_query(&format!("/api/v1/auth/oidc/{}/start", seg(slug)), &query)
}

/// Whether `path` is a path of the console (never another host, never the API).
pub fn is_console_path(path: &str) -> bool {
    ConsolePath::parse(path).is_ok()
}

/// `path` when it is a path of the console, else `/`.
pub fn console_path_or_root(path: &str) -> &str {
    if is_console_path(path) { path } else { "/" }
}

fn local() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Someone begins a sign-in themselves (the "Sign in with …" button): remembers the tenant,
/// and lifts the holds a sign-out or an earlier silent attempt left.
pub fn remember_slug(slug: &str) {
    if let Some(local) = local() {
        let _ = local.set_item(SLUG_KEY, slug);
        let _ = local.remove_item(SIGNED_OUT_KEY);
    }
    if let Some(s) = storage() {
        let _ = s.remove_item(SILENT_KEY);
    }
}

/// The session just stored was signed in at the tenant's identity provider (the slug this
/// browser began the sign-in at): only such a session may later be renewed silently.
pub fn mark_session_oidc() {
    if let (Some(slug), Some(s)) = (remembered_slug(), storage()) {
        let _ = s.set_item(SESSION_SLUG_KEY, &slug);
    }
}

/// Any new session (a launch, the demo picker) forgets how an earlier one was signed in.
pub fn forget_session_oidc() {
    if let Some(s) = storage() {
        let _ = s.remove_item(SESSION_SLUG_KEY);
    }
}

/// The tenant whose provider signed this tab's session in, if it was one.
fn session_slug() -> Option<String> {
    let raw = storage()?.get_item(SESSION_SLUG_KEY).ok().flatten()?;
    TenantSlug::parse(&raw).ok().map(String::from)
}

/// Someone signed out: no tab of this browser signs in again behind their back.
pub fn signed_out() {
    hold_silent();
    if let Some(local) = local() {
        let _ = local.set_item(SIGNED_OUT_KEY, "1");
    }
}

fn signed_out_here() -> bool {
    local()
        .and_then(|l| l.get_item(SIGNED_OUT_KEY).ok().flatten())
        .is_some()
}

/// The tenant this browser last began an OIDC sign-in at, if it still reads as a slug.
pub fn remembered_slug() -> Option<String> {
    let raw = local()?.get_item(SLUG_KEY).ok().flatten()?;
    TenantSlug::parse(&raw).ok().map(String::from)
}

/// Holds silent sign-ins off for a minute: after an attempt, and after signing out (someone
/// who signed out wants the sign-in page, not to be signed in again behind their back).
pub fn hold_silent() {
    if let Some(s) = storage() {
        let _ = s.set_item(SILENT_KEY, &js_sys::Date::now().to_string());
    }
}

/// After a sign-in succeeded: the path a failed silent one was to return to is forgotten.
/// The time of the last silent attempt stays, so that a session refused again at once
/// cannot bounce the tab between the console and the provider: one attempt a minute.
pub fn release_silent() {
    if let Some(s) = storage() {
        let _ = s.remove_item(RETURN_KEY);
    }
}

/// Where the last silent attempt was to return to, when it has not succeeded since.
pub fn pending_return() -> Option<String> {
    let raw = storage()?.get_item(RETURN_KEY).ok().flatten()?;
    ConsolePath::parse(&raw).ok().map(String::from)
}

fn silent_held() -> bool {
    storage()
        .and_then(|s| s.get_item(SILENT_KEY).ok().flatten())
        .and_then(|raw| raw.parse::<f64>().ok())
        .is_some_and(|at| (0.0..SILENT_EVERY_MS).contains(&(js_sys::Date::now() - at)))
}

/// After a session ended on its own, renews it at the tenant's identity provider without a
/// prompt: the provider answers at once, with a new sign-in while its own session lasts and
/// with `login_required` (which `/t/{slug}` explains) when not. Only when this browser began
/// an OIDC sign-in before, the tenant still offers it, and no attempt was made this minute;
/// otherwise the console stays on its sign-in page.
pub async fn reauthorize_silently() {
    // Only a session the provider signed in, at that tenant, and never after a sign-out.
    let Some(slug) = session_slug() else {
        return;
    };
    if silent_held() || signed_out_here() {
        return;
    }
    // Held before asking, so that the other calls failing with this session try nothing.
    hold_silent();
    // A tenant that turned OIDC off would answer the start with a bare 404.
    let label = match tenant(slug.clone()).await {
        Ok(page) if offers_oidc(&page) => page.oidc_label,
        _ => return,
    };
    if let Some(auth) = super::auth() {
        let with = label.unwrap_or_else(|| "your identity provider".to_owned());
        auth.signed_out_reason.set(Some(format!(
            "Your session ended: signing in again with {with}…"
        )));
    }
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    if let Some(s) = storage() {
        let _ = s.set_item(RETURN_KEY, console_path_or_root(&here));
    }
    let _ = location.set_href(&start_url(&slug, &here, true));
}
