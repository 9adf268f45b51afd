//! Sign-in: the launch flow from the PSA and, in demo mode, a picker of demo identities.
//!
//! The PSA opens `/launch#assertion=<jwt>` (the fragment never reaches a server or proxy
//! log). The console exchanges the assertion at `/api/v1/auth/launch`, removes it from the
//! address bar and stores the session. An assertion in the query (`?assertion=`) is refused
//! unused (SPEC S14): it has already been written to every log on its way.

use leptos::prelude::*;

use crate::api::{self, ClientError};
use crate::components::ui::describe;
use crate::components::ui::{resource, suspend};
use hubkeep_shared::api::{DemoIdentity, TokenResponse};

/// A launch the current URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `#assertion=<jwt>`: redeemed.
    Fragment(String),
    /// `?assertion=…`: refused unused, since proxies and servers log query strings.
    InQuery,
}

/// The launch in the current URL, if any.
pub fn launch_in_url() -> Option<Launch> {
    let location = window().location();
    let from = |raw: String| -> Option<String> {
        raw.trim_start_matches(['#', '?'])
            .split('&')
            .find_map(|pair| pair.strip_prefix("assertion="))
            .map(|v| {
                js_sys::decode_uri_component(v)
                    .map(String::from)
                    .unwrap_or_else(|_| v.to_owned())
            })
            .filter(|v| !v.is_empty())
    };
    match location.hash().ok().and_then(from) {
        Some(assertion) => Some(Launch::Fragment(assertion)),
        None => location
            .search()
            .ok()
            .and_then(from)
            .map(|_| Launch::InQuery),
    }
}

/// Removes the assertion from the address bar (it is single-use and must not be bookmarked).
fn clear_assertion_from_url() {
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
}

/// What a demo identity will be able to do once signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Elevation,
    Limited,
    NoAccess,
}

fn group_of(i: &DemoIdentity) -> Group {
    if !i.is_active || !i.eligible_for_access {
        Group::NoAccess
    } else if i.eligible_for_elevation {
        Group::Elevation
    } else {
        Group::Limited
    }
}

fn no_access_reason(i: &DemoIdentity) -> &'static str {
    if !i.is_active {
        "inactive in the PSA"
    } else {
        "security level without the hub menu (or inactive)"
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let auth = expect_context::<api::AuthState>();
    let error = RwSignal::new(None::<ClientError>);
    let busy = RwSignal::new(false);

    let finish = move |result: Result<TokenResponse, ClientError>| {
        busy.set(false);
        match result {
            Ok(tokens) => api::sign_in_with(&tokens),
            Err(e) => error.set(Some(e)),
        }
    };

    // A launch from the PSA: redeem the assertion once, on load; one in the query string is
    // dropped unused.
    let refused_query = RwSignal::new(false);
    match launch_in_url() {
        Some(Launch::Fragment(assertion)) => {
            clear_assertion_from_url();
            busy.set(true);
            leptos::task::spawn_local(async move {
                finish(api::auth::launch(assertion).await);
            });
        }
        Some(Launch::InQuery) => {
            clear_assertion_from_url();
            refused_query.set(true);
        }
        None => {}
    }

    let identities = resource(api::auth::demo_identities);

    let demo_launch = move |resource_id: i64| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            finish(api::auth::demo_launch(resource_id).await);
        });
    };

    view! {
        <main class="signin" id="content">
            <h1>"Hubkeep"</h1>
            <p class="lead">"Access plane of the accounting integration hub."</p>
            // This browser signed in with a tenant's identity provider before: offer it again.
            {api::oidc::remembered_slug()
                .map(|slug| {
                    view! {
                        <p>
                            <a href=format!("/t/{}", api::seg(&slug)) id="tenant-sign-in-link">
                                "Sign in with your organization's account"
                            </a>
                        </p>
                    }
                })}
            {move || {
                auth.signed_out_reason
                    .get()
                    .map(|r| view! { <p class="notice info" role="status" id="signed-out-reason">{r}</p> })
            }}
            {move || {
                error
                    .get()
                    .map(|e| view! { <div class="error" role="alert" id="signin-error">{describe(&e)}</div> })
            }}
            {move || {
                refused_query
                    .get()
                    .then(|| view! {
                        <div class="error" role="alert" id="launch-refused">
                            "This sign-in link carries its assertion in the query string (?assertion=), which proxies and servers log, so it was not used. The launcher must put it after # instead; ask your administrator."
                        </div>
                    })
            }}
            {move || busy.get().then(|| view! { <p class="status" role="status">"Signing in…"</p> })}
            <Transition fallback=|| view! { <p class="status" role="status">"Loading…"</p> }>
                {move || suspend(async move {
                    match identities.await {
                        Ok(list) => view! { <DemoPicker identities=list.items on_pick=demo_launch busy=busy /> }.into_any(),
                        // Not demo mode: people arrive from the PSA menu.
                        Err(_) => view! {
                            <section class="card">
                                <h2>"Open Hubkeep from your PSA"</h2>
                                <p>"Sign in to Autotask and choose Hubkeep in its menu; Autotask signs you in here."</p>
                            </section>
                        }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn DemoPicker<F>(identities: Vec<DemoIdentity>, on_pick: F, busy: RwSignal<bool>) -> impl IntoView
where
    F: Fn(i64) + Copy + Send + Sync + 'static,
{
    let filter = RwSignal::new(String::new());
    let section = move |group: Group, title: &'static str, hint: &'static str| {
        let members: Vec<DemoIdentity> = identities
            .iter()
            .filter(|i| group_of(i) == group)
            .cloned()
            .collect();
        let id = match group {
            Group::Elevation => "demo-elevation",
            Group::Limited => "demo-limited",
            Group::NoAccess => "demo-none",
        };
        view! {
            <section class="card demo-group" id=id aria-labelledby=format!("{id}-title")>
                <h3 id=format!("{id}-title")>{title}</h3>
                <p class="hint">{hint}</p>
                <ul class="identities">
                    {members
                        .into_iter()
                        .map(|i| {
                            let needle = format!("{} {} {}", i.name, i.email, i.security_level.name)
                                .to_lowercase();
                            let visible = move || {
                                let f = filter.get().to_lowercase();
                                f.is_empty() || needle.contains(f.trim())
                            };
                            let rid = i.resource_id;
                            let can = group != Group::NoAccess;
                            view! {
                                <li class:hidden=move || !visible()>
                                    <button
                                        type="button"
                                        class="identity"
                                        data-resource-id=rid
                                        disabled=move || busy.get() || !can
                                        on:click=move |_| on_pick(rid)
                                    >
                                        <span class="name">{i.name.clone()}</span>
                                        <span class="meta">{i.security_level.name.clone()}" · "{i.email.clone()}</span>
                                        {(!can).then(|| view! { <span class="meta">"Cannot sign in: "{no_access_reason(&i)}</span> })}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    };
    view! {
        <section class="demo" aria-labelledby="demo-title">
            <h2 id="demo-title">"Demo: sign in as someone from the PSA"</h2>
            <p>"This server runs in demo mode. Pick a person to see Hubkeep as they would. The first sign-in of the tenant becomes its primary user and must be eligible for elevated access."</p>
            <label class="field">
                <span>"Find a person"</span>
                <input type="search" id="demo-filter" prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
            </label>
            <div class="demo-groups">
                {section(Group::Elevation, "Eligible for elevated access", "Their security level allows administering the hub (elevated when the Access tab or a grant says so, or as the primary user).")}
                {section(Group::Limited, "Limited access", "They can use the connections they hold a role on, but not administer the hub.")}
                {section(Group::NoAccess, "No hub access", "Their PSA record or security level does not allow the hub: sign-in is refused.")}
            </div>
        </section>
    }
}
