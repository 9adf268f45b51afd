//! `/t/{slug}`: a tenant's own sign-in page. The button is a real link to the start of the
//! sign-in (a navigation the server answers with a redirect to the identity provider), so the
//! router must leave it alone (`rel="external"`).

use hubkeep_shared::ProblemCode;
use hubkeep_shared::api::TenantSignIn;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::messages::failure_text;
use crate::api::{self, ClientError};
use crate::components::ui::{Loading, describe};
use crate::components::ui::{resource, suspend};

/// A refused sign-in, as the server put it in the page's address.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    /// A problem code (`psa_resource_not_found`).
    code: String,
    /// The provider's error, when it sent one (`login_required`).
    reason: Option<String>,
}

/// Names the identity provider while the tenant has not said how.
const SOME_PROVIDER: &str = "your identity provider";

#[component]
pub fn TenantSignInPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = Memo::new(move |_| params.with(|p| p.get("slug").unwrap_or_default()));
    let refusal = Memo::new(move |_| {
        query.with(|q| {
            q.get("error").map(|code| Refusal {
                code,
                reason: q.get("reason"),
            })
        })
    });
    // Where to go once signed in: `?return_to=` when it is a console path, else the page a
    // silent sign-in that failed was to return to, else the start.
    let return_to = Memo::new(move |_| {
        query
            .with(|q| q.get("return_to"))
            .filter(|asked| api::oidc::is_console_path(asked))
            .or_else(api::oidc::pending_return)
            .unwrap_or_else(|| "/".to_owned())
    });
    let page = resource(move || api::oidc::tenant(slug.get()));
    view! {
        <main class="signin" id="content">
            <Transition fallback=|| view! { <h1>"Sign in"</h1><Loading what="the sign-in page" /> }>
                {move || suspend(async move {
                    match page.await {
                        Ok(p) => {
                            let slug = slug.get_untracked();
                            view! { <TenantCard page=p slug=slug refusal=refusal return_to=return_to /> }
                                .into_any()
                        }
                        Err(e) => view! { <UnknownTenant error=e refusal=refusal /> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The tenant's name, why the last attempt failed, and the way in.
#[component]
fn TenantCard(
    page: TenantSignIn,
    slug: String,
    refusal: Memo<Option<Refusal>>,
    return_to: Memo<String>,
) -> impl IntoView {
    let auth = expect_context::<api::AuthState>();
    let offers = api::oidc::offers_oidc(&page);
    let label = page
        .oidc_label
        .clone()
        .unwrap_or_else(|| SOME_PROVIDER.to_owned());
    view! {
        <h1 id="tenant-name">{page.name}</h1>
        <p class="lead">"Hubkeep, the access plane of the accounting integration hub."</p>
        {move || {
            auth.signed_out_reason
                .get()
                .map(|r| view! { <p class="notice info" role="status" id="signed-out-reason">{r}</p> })
        }}
        {refusal_view(refusal, label.clone())}
        {if offers {
            view! { <OidcSignIn slug=slug label=label return_to=return_to /> }.into_any()
        } else {
            psa_only().into_any()
        }}
    }
}

/// The refusal of the last attempt, in words (`#signin-error`).
fn refusal_view(refusal: Memo<Option<Refusal>>, label: String) -> impl IntoView {
    move || {
        refusal.get().map(|r| {
            let text = failure_text(&r.code, r.reason.as_deref(), &label);
            view! { <div class="error" role="alert" id="signin-error" data-code=r.code>{text}</div> }
        })
    }
}

/// "Sign in with <label>" (`#oidc-sign-in`): remembers the tenant, for silent sign-ins later.
#[component]
fn OidcSignIn(slug: String, label: String, return_to: Memo<String>) -> impl IntoView {
    let href = {
        let slug = slug.clone();
        move || api::oidc::start_url(&slug, &return_to.get(), false)
    };
    view! {
        <section class="card" aria-labelledby="oidc-sign-in-title">
            <h2 id="oidc-sign-in-title">"Sign in with your organization's account"</h2>
            <p class="buttons">
                <a
                    id="oidc-sign-in"
                    class="button"
                    rel="external"
                    href=href
                    on:click=move |_| api::oidc::remember_slug(&slug)
                >
                    {format!("Sign in with {label}")}
                </a>
            </p>
            <p class="hint">"You can also open Hubkeep from your PSA's menu."</p>
        </section>
    }
}

/// A tenant without OIDC: the PSA menu is the only way in.
fn psa_only() -> impl IntoView {
    view! {
        <section class="card" id="psa-only" aria-labelledby="psa-only-title">
            <h2 id="psa-only-title">"Open Hubkeep from your PSA"</h2>
            <p>
                "This tenant signs in from the PSA menu: sign in to your PSA and choose Hubkeep in its menu, and the PSA signs you in here."
            </p>
        </section>
    }
}

/// No tenant has this page (or it could not be loaded).
#[component]
fn UnknownTenant(error: ClientError, refusal: Memo<Option<Refusal>>) -> impl IntoView {
    let text = if error.code() == Some(ProblemCode::NotFound) {
        "No tenant signs in at this address. Check the link you were given, or open Hubkeep from your PSA's menu.".to_owned()
    } else {
        describe(&error)
    };
    view! {
        <h1>"Sign in"</h1>
        {refusal_view(refusal, SOME_PROVIDER.to_owned())}
        <div class="error" role="alert" id="tenant-error">{text}</div>
    }
}
