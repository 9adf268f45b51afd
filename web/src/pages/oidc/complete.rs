//! `/signin/complete#code=…&return_to=…`: the end of a sign-in at the identity provider.
//!
//! The one-time code arrives in the fragment, which never reaches a server or a proxy's log.
//! The page takes it out of the address bar before anything else (it must not stay in the
//! history or a bookmark), trades it for the session at `/api/v1/auth/oidc/exchange`, stores
//! the session as a launch does, and opens `return_to` — only a path of the console, so a
//! crafted link cannot send the person to another site.

use hubkeep_shared::ProblemCode;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use super::messages::failure_text;
use crate::api::{self, ClientError};
use crate::components::ui::describe;

/// What the server put after `#`.
struct Arrival {
    code: Option<String>,
    /// A console path (`/` when the fragment had none or another).
    return_to: String,
}

/// Reads the fragment and at once takes it out of the address; `None` when there
/// is no fragment (a reload, or a link typed by hand).
fn take_arrival() -> Option<Arrival> {
    let hash = window().location().hash().ok().filter(|h| h.len() > 1)?;
    let (mut code, mut return_to) = (None, None);
    for pair in hash.trim_start_matches('#').split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "code" => code = Some(form_decode(value)),
            "return_to" => return_to = Some(form_decode(value)),
            _ => {}
        }
    }
    let return_to = api::oidc::console_path_or_root(return_to.as_deref().unwrap_or("/")).to_owned();
    // The code leaves the address bar now; the page moves to `return_to` only once the
    // exchange succeeds (a failure stays here, where a reload still explains it).
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some("/signin/complete"),
        );
    }
    Some(Arrival {
        code: code.filter(|c| !c.is_empty()),
        return_to,
    })
}

/// One value of `application/x-www-form-urlencoded` text (`+` is a space).
fn form_decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    js_sys::decode_uri_component(&spaced)
        .map(String::from)
        .unwrap_or(spaced)
}

/// Why the exchange failed, for the person who tried.
fn exchange_failure(error: &ClientError) -> String {
    match error {
        ClientError::Problem(p) if p.known_code() == Some(ProblemCode::OidcRejected) => {
            "This sign-in has expired or was already used. Sign in again.".to_owned()
        }
        ClientError::Problem(p) => failure_text(&p.code, None, "your identity provider"),
        other => describe(other),
    }
}

#[component]
pub fn SignInCompletePage() -> impl IntoView {
    let navigate = use_navigate();
    let failure = RwSignal::new(None::<String>);
    match take_arrival() {
        Some(Arrival {
            code: Some(code),
            return_to,
        }) => leptos::task::spawn_local(async move {
            match api::oidc::exchange(code).await {
                Ok(tokens) => {
                    api::oidc::release_silent();
                    api::sign_in_with(&tokens);
                    api::oidc::mark_session_oidc();
                    let replace = NavigateOptions {
                        replace: true,
                        ..NavigateOptions::default()
                    };
                    navigate(&return_to, replace);
                }
                Err(e) => failure.set(Some(exchange_failure(&e))),
            }
        }),
        _ => failure.set(Some(
            "This sign-in link is incomplete or has already been used. Sign in again.".to_owned(),
        )),
    }
    view! {
        <main class="signin" id="content">
            <h1>{move || if failure.with(Option::is_some) { "Sign-in did not complete" } else { "Signing in" }}</h1>
            {move || match failure.get() {
                None => view! { <p class="status" role="status">"Signing in…"</p> }.into_any(),
                Some(text) => view! {
                    <div class="error" role="alert" id="signin-error">{text}</div>
                    <p><a href=again_href() id="signin-again">"Back to sign-in"</a></p>
                }
                    .into_any(),
            }}
        </main>
    }
}

/// The tenant's sign-in page when this browser knows it, else the console's.
fn again_href() -> String {
    match api::oidc::remembered_slug() {
        Some(slug) => format!("/t/{}", api::seg(&slug)),
        None => "/".to_owned(),
    }
}
