//! A typed client for the Hubkeep API. Every call returns `Result<T, ClientError>`; API errors
//! arrive as RFC 9457 problems and keep their stable `code`.
//!
//! Pages call one typed function per operation (`api::connections::update(id, &patch)`),
//! with the request and response types of `hubkeep_shared::api` that the server itself
//! uses: no page builds a path or a JSON body by hand (SPEC S17). The functions that send a
//! request (`get`, `post`, …) are private to this module and its children.
//!
//! Authentication lives here too: the access and refresh tokens of the signed-in session are
//! kept in the tab's `sessionStorage` (they survive a reload, not the tab). A request answered
//! 401 refreshes the session once — one refresh at a time, because a refresh token is single
//! use and a second use would revoke the session — and is sent again; when the refresh is
//! refused too, the session is dropped and the console returns to sign-in with the reason —
//! or, when this browser signs in with the tenant's identity provider, signs in there again
//! without a prompt (`oidc::reauthorize_silently`).

use std::cell::RefCell;

use futures::future::LocalBoxFuture;
use futures::lock::Mutex;
use gloo_net::http::{Method, RequestBuilder, Response};
use hubkeep_shared::{Problem, ProblemCode};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use hubkeep_shared::api::{RefreshRequest, TokenResponse};

pub mod access;
pub mod activity;
pub mod auth;
pub mod connections;
pub mod invitations;
pub mod notifications;
pub mod oidc;
pub mod runs;
pub mod settings;
mod tabs;
pub mod tokens;
pub mod users;
pub mod views;

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The API answered with a problem.
    #[error("{}", .0.detail)]
    Problem(Problem),
    /// No answer (network down, server stopped).
    #[error("The server could not be reached: {0}")]
    Network(String),
    /// An answer this console does not understand.
    #[error("Unexpected answer from the server: {0}")]
    Decode(String),
}

impl ClientError {
    /// The problem's stable code, when the API sent one.
    pub fn code(&self) -> Option<ProblemCode> {
        match self {
            Self::Problem(p) => p.known_code(),
            _ => None,
        }
    }

    /// The problem's HTTP status, when the API sent one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem(p) => Some(p.status),
            _ => None,
        }
    }

    /// The per-field messages of a 422, as `field: message` lines.
    pub fn field_errors(&self) -> Vec<String> {
        match self {
            Self::Problem(p) => p
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect(),
            _ => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------------------

const STORAGE_KEY: &str = "hubkeep.session";
/// Refresh this long before the access token expires.
const REFRESH_EARLY_MS: f64 = 60_000.0;
/// How long a tab whose refresh token another tab exchanged waits for that tab's broadcast.
const SPENT_BROADCAST_WAIT_MS: u32 = 10_000;

/// The tokens of the signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires, in ms since the epoch (browser clock).
    pub expires_at_ms: i64,
}

impl Tokens {
    fn from_response(r: &TokenResponse) -> Self {
        Self {
            access_token: r.access_token.clone(),
            refresh_token: r.refresh_token.clone(),
            expires_at_ms: (js_sys::Date::now() + r.expires_in as f64 * 1000.0) as i64,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

/// The stored session, if any.
pub fn stored_tokens() -> Option<Tokens> {
    let raw = storage()?.get_item(STORAGE_KEY).ok().flatten()?;
    serde_json::from_str(&raw).ok()
}

fn store_tokens(tokens: Option<&Tokens>) {
    let Some(storage) = storage() else { return };
    match tokens {
        Some(t) => {
            if let Ok(raw) = serde_json::to_string(t) {
                let _ = storage.set_item(STORAGE_KEY, &raw);
            }
        }
        None => {
            let _ = storage.remove_item(STORAGE_KEY);
        }
    }
}

/// What the console knows about authentication, as signals the whole app reads.
#[derive(Debug, Clone, Copy)]
pub struct AuthState {
    /// Whether a session is stored (the shell shows sign-in when not).
    pub signed_in: RwSignal<bool>,
    /// Why the last session ended, shown on the sign-in page.
    pub signed_out_reason: RwSignal<Option<String>>,
    /// Bumped on every successful refresh (the refresh timer re-arms on it).
    pub generation: RwSignal<u64>,
}

thread_local! {
    static AUTH: RefCell<Option<AuthState>> = const { RefCell::new(None) };
    // Leaked once per page load: the lock must outlive every future that awaits it.
    static REFRESH_LOCK: &'static Mutex<()> = Box::leak(Box::new(Mutex::new(())));
}

/// Creates the auth signals (once, at the root of the app) and arms the refresh timer.
pub fn init_auth() -> AuthState {
    let state = AuthState {
        signed_in: RwSignal::new(stored_tokens().is_some()),
        signed_out_reason: RwSignal::new(None),
        generation: RwSignal::new(0),
    };
    AUTH.with(|a| *a.borrow_mut() = Some(state));
    // Another tab of this session refreshed: take its tokens if they replace ours.
    tabs::listen(|used, tokens| {
        if stored_tokens().is_some_and(|t| t.refresh_token == used) {
            store_tokens(Some(&tokens));
            if let Some(a) = auth() {
                a.generation.update(|g| *g += 1);
            }
            schedule_refresh();
        }
    });
    schedule_refresh();
    state
}

fn auth() -> Option<AuthState> {
    AUTH.with(|a| *a.borrow())
}

/// Stores a new session and tells the app.
pub fn sign_in_with(response: &TokenResponse) {
    oidc::forget_session_oidc();
    store_tokens(Some(&Tokens::from_response(response)));
    if let Some(a) = auth() {
        a.signed_out_reason.set(None);
        a.signed_in.set(true);
        a.generation.update(|g| *g += 1);
    }
    schedule_refresh();
}

/// Drops the session locally and shows sign-in with `reason`.
pub fn drop_session(reason: Option<String>) {
    store_tokens(None);
    if let Some(a) = auth() {
        a.signed_out_reason.set(reason);
        a.signed_in.set(false);
    }
}

/// The session ended without the person signing out (a refused refresh, a 401 after one):
/// drops it with `reason`, then tries to sign in again silently at the tenant's identity
/// provider when this browser signs in there.
fn session_ended(reason: String) {
    drop_session(Some(reason));
    leptos::task::spawn_local(oidc::reauthorize_silently());
}

/// Refreshes the access token a minute before it expires, so pages never wait on a 401.
fn schedule_refresh() {
    let Some(tokens) = stored_tokens() else {
        return;
    };
    let wait = (tokens.expires_at_ms as f64 - js_sys::Date::now() - REFRESH_EARLY_MS).max(1000.0);
    let generation = auth().map(|a| a.generation.get_untracked());
    set_timeout(
        move || {
            // A newer session (or refresh) has armed its own timer.
            if auth().map(|a| a.generation.get_untracked()) != generation {
                return;
            }
            leptos::task::spawn_local(async move {
                if let Some(t) = stored_tokens()
                    && t.refresh_token == tokens.refresh_token
                {
                    let _ = refresh(&t.refresh_token).await;
                }
            });
        },
        std::time::Duration::from_millis(wait as u64),
    );
}

/// Exchanges `used` for a new session, unless another call (or another tab) already did.
/// One refresh at a time, in this tab and across the tabs of the origin (`tabs`): a refresh
/// token is single-use, and reusing one revokes the session (SPEC S3.3, S14).
async fn refresh(used: &str) -> Result<(), ClientError> {
    let lock: &'static Mutex<()> = REFRESH_LOCK.with(|l| *l);
    let _guard = lock.lock().await;
    tabs::exclusively(refresh_holding_the_lock(used)).await
}

async fn refresh_holding_the_lock(used: &str) -> Result<(), ClientError> {
    // A tab that refreshed while this one waited has posted its tokens: take them in first.
    tabs::settle().await;
    let Some(current) = stored_tokens() else {
        return Err(signed_out_problem());
    };
    if current.refresh_token != used {
        return Ok(()); // refreshed while we waited
    }
    // Another tab exchanged this token and its broadcast is still on the way: wait for it
    // rather than send a spent token (which would end the session in every tab).
    if tabs::is_spent(used).await {
        let arrived = tabs::wait_until(SPENT_BROADCAST_WAIT_MS, || {
            stored_tokens().is_none_or(|t| t.refresh_token != used)
        })
        .await;
        if !arrived {
            // This tab's copy of the session is spent; the session lives on in the other
            // tab. Sign in again here (silently, where the identity provider allows).
            session_ended("This session was renewed in another tab: sign in again.".to_owned());
            return Err(signed_out_problem());
        }
        return Ok(());
    }
    let body = RefreshRequest {
        refresh_token: used.to_owned(),
    };
    let result = send_raw::<TokenResponse>(
        Method::POST,
        "/api/v1/auth/refresh",
        Some(body_of(&body)?),
        None,
    )
    .await;
    match result {
        Ok(response) => {
            let tokens = Tokens::from_response(&response);
            store_tokens(Some(&tokens));
            tabs::share(used, &tokens);
            tabs::mark_spent(used).await;
            if let Some(a) = auth() {
                a.generation.update(|g| *g += 1);
            }
            schedule_refresh();
            Ok(())
        }
        // 401/403: the session is over (revoked, expired, access withdrawn).
        Err(ClientError::Problem(p)) if p.status == 401 || p.status == 403 => {
            session_ended(p.detail.clone());
            Err(ClientError::Problem(p))
        }
        // 503 psa_unavailable, 429, network: the refresh token stays valid; try later.
        Err(e) => Err(e),
    }
}

fn signed_out_problem() -> ClientError {
    ClientError::Problem(Problem::new(
        ProblemCode::ReauthorizationRequired,
        "You are signed out: sign in again.",
    ))
}

/// Signs out: revokes the session on the server, then forgets it here. No silent sign-in
/// follows, even when the logout finds the session already over.
pub async fn sign_out() {
    oidc::signed_out();
    if stored_tokens().is_some() {
        let _ = send::<()>(Method::POST, "/api/v1/auth/logout", None).await;
    }
    drop_session(Some("You signed out.".to_owned()));
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// A request body as JSON.
fn body_of<B: Serialize>(body: &B) -> Result<Value, ClientError> {
    serde_json::to_value(body).map_err(|e| ClientError::Decode(e.to_string()))
}

// The request path is written once, without type parameters, and its futures are boxed:
// every typed call (`send::<T>`) is then a thin wrapper that parses JSON, rather than a copy
// of the whole request, refresh and retry machinery per response type (a large part of the
// console's WASM before; SPEC S16 weight budget).

type Pending<T> = LocalBoxFuture<'static, Result<T, ClientError>>;

/// A successful answer's body parsed as `T` (an empty body reads as `null`, so `()` for 204).
fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ClientError> {
    let text = if text.trim().is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| ClientError::Decode(e.to_string()))
}

/// A successful answer's body as text.
fn text_of(resp: Response) -> Pending<String> {
    Box::pin(async move {
        resp.text()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))
    })
}

/// The answer when it is a success; its problem otherwise.
fn ok_or_problem(resp: Response) -> Pending<Response> {
    Box::pin(async move {
        if resp.ok() {
            return Ok(resp);
        }
        let status = resp.status();
        match resp.json::<Problem>().await {
            Ok(problem) => Err(ClientError::Problem(problem)),
            Err(_) => Err(ClientError::Decode(format!("HTTP {status}"))),
        }
    })
}

/// Sends one request (with `bearer` when given) and answers a success or its problem.
fn answer(
    method: Method,
    path: String,
    body: Option<Value>,
    bearer: Option<String>,
) -> Pending<Response> {
    Box::pin(async move {
        let mut builder = RequestBuilder::new(&path)
            .method(method)
            .header("accept", "application/json, application/problem+json");
        if let Some(token) = bearer {
            builder = builder.header("authorization", &format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder.json(&body),
            None => builder.build(),
        }
        .map_err(|e| ClientError::Network(e.to_string()))?;
        let resp = request
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        ok_or_problem(resp).await
    })
}

/// Sends a request without credentials and parses the answer.
async fn send_raw<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> Result<T, ClientError> {
    let resp = answer(method, path.to_owned(), body, bearer.map(str::to_owned)).await?;
    parse(&text_of(resp).await?)
}

/// Sends an authenticated request and parses the answer.
async fn send<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<T, ClientError> {
    let resp = authorized(method, path.to_owned(), body).await?;
    parse(&text_of(resp).await?)
}

/// Sends an authenticated request; on 401 refreshes the session once and sends it again.
/// Answers a success or its problem.
fn authorized(method: Method, path: String, body: Option<Value>) -> Pending<Response> {
    Box::pin(async move {
        let Some(tokens) = stored_tokens() else {
            session_ended("Your session has ended: sign in again.".to_owned());
            return Err(signed_out_problem());
        };
        let first = answer(
            method.clone(),
            path.clone(),
            body.clone(),
            Some(tokens.access_token),
        )
        .await;
        match first {
            Err(ClientError::Problem(p)) if p.status == 401 => {
                refresh(&tokens.refresh_token).await?;
                let Some(fresh) = stored_tokens() else {
                    return Err(signed_out_problem());
                };
                let second = answer(method, path, body, Some(fresh.access_token)).await;
                if let Err(ClientError::Problem(p)) = &second
                    && p.status == 401
                {
                    session_ended(p.detail.clone());
                }
                second
            }
            other => other,
        }
    })
}

/// `GET path` (authenticated) for a file: the browser's Blob of it (the bytes never pass
/// through the WASM memory).
async fn get_file(path: &str) -> Result<web_sys::Blob, ClientError> {
    use wasm_bindgen::JsCast as _;
    let resp = authorized(Method::GET, path.to_owned(), None).await?;
    let failed = |_| ClientError::Network("The download did not complete.".to_owned());
    let blob = web_sys::Response::from(resp).blob().map_err(failed)?;
    wasm_bindgen_futures::JsFuture::from(blob)
        .await
        .map_err(failed)?
        .dyn_into::<web_sys::Blob>()
        .map_err(failed)
}

/// `GET path` (authenticated).
async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    send(Method::GET, path, None).await
}

/// `POST path` with a typed JSON body (authenticated).
async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ClientError> {
    send(Method::POST, path, Some(body_of(body)?)).await
}

/// `POST path` for an operation that takes no body (authenticated; sends `{}`).
async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    send(Method::POST, path, Some(json!({}))).await
}

/// `PATCH path` with a typed JSON body (authenticated).
async fn patch<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ClientError> {
    send(Method::PATCH, path, Some(body_of(body)?)).await
}

/// `PUT path` with a typed JSON body (authenticated).
async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ClientError> {
    send(Method::PUT, path, Some(body_of(body)?)).await
}

/// `DELETE path` (authenticated); the answer may be empty (204).
async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    send(Method::DELETE, path, None).await
}

/// `GET path` without credentials (public endpoints).
async fn get_public<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    send_raw(Method::GET, path, None, None).await
}

/// `POST path` with a typed body, without credentials (launch, demo launch).
async fn post_public<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ClientError> {
    send_raw(Method::POST, path, Some(body_of(body)?), None).await
}

/// `path?k=v&…` from a shared query type: every present field, percent-encoded (strings as
/// they are, numbers, booleans and enums by their JSON text).
fn with_query<Q: Serialize>(path: &str, query: &Q) -> String {
    format!("{path}{}", query_string(query))
}

/// `?k=v&…` (or nothing) from a shared query type, for API calls and for console links that
/// carry the same filters.
pub fn query_string<Q: Serialize>(query: &Q) -> String {
    let Ok(Value::Object(fields)) = serde_json::to_value(query) else {
        return String::new();
    };
    let pairs: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(format!("{k}={}", js_sys::encode_uri_component(&text)))
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encodes one path segment.
pub fn seg(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

/// One page of a list, fetched for a paging query: what the generic list widgets take.
pub type PageFetch<T> = fn(
    hubkeep_shared::api::PageQuery,
) -> futures::future::LocalBoxFuture<
    'static,
    Result<hubkeep_shared::api::Page<T>, ClientError>,
>;

/// `GET /api/v1/permissions`
pub async fn get_permissions() -> Result<hubkeep_shared::PermissionMatrix, ClientError> {
    get_public("/api/v1/permissions").await
}

/// `GET /api/v1/me`
pub async fn get_me() -> Result<hubkeep_shared::api::Me, ClientError> {
    get("/api/v1/me").await
}
