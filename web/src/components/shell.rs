//! The signed-in layout: left navigation, the user with their access level, sign out, the
//! notice area and the page.

use hubkeep_shared::HubAction;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate};

use crate::api;
use crate::components::error::ErrorMessage;
use crate::components::ui::{Loading, MeCtx, NoticeArea, Notices, access_badge};

/// One entry of the left navigation, shown when `/me` allows `action`.
struct NavItem {
    href: &'static str,
    label: &'static str,
    action: HubAction,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/connections",
        label: "Connections",
        action: HubAction::SignIn,
    },
    NavItem {
        href: "/sync-status",
        label: "Sync Status",
        action: HubAction::ViewSyncStatus,
    },
    NavItem {
        href: "/activity",
        label: "Activity Logs",
        action: HubAction::ViewActivityLog,
    },
    NavItem {
        href: "/users",
        label: "Users",
        action: HubAction::ManageUsers,
    },
    NavItem {
        href: "/settings",
        label: "Settings",
        action: HubAction::ViewSettings,
    },
    NavItem {
        href: "/tokens",
        label: "API tokens",
        action: HubAction::ManageOwnTokens,
    },
    NavItem {
        href: "/outbox",
        label: "Outbox",
        action: HubAction::EditSettings,
    },
    NavItem {
        href: "/preferences",
        label: "Email preferences",
        action: HubAction::SignIn,
    },
];

/// Signs out. Someone who signs in with their tenant's identity provider lands on the tenant's
/// sign-in page (`/t/{slug}`), which offers that again, rather than on the PSA launch's.
fn sign_out_to_sign_in_page() -> impl Fn() + Clone + 'static {
    let navigate = use_navigate();
    move || {
        if let Some(slug) = api::oidc::remembered_slug() {
            navigate(
                &format!("/t/{}", api::seg(&slug)),
                NavigateOptions::default(),
            );
        }
        leptos::task::spawn_local(api::sign_out());
    }
}

/// The layout around every signed-in page. Loads `/me` first; pages render only once it is
/// known, so each can read the user's hub actions synchronously.
#[component]
pub fn Shell(children: ChildrenFn) -> impl IntoView {
    let ctx = MeCtx {
        me: RwSignal::new(None),
        reload: RwSignal::new(0),
    };
    provide_context(ctx);
    provide_context(Notices::new());
    let failure = RwSignal::new(None::<api::ClientError>);
    Effect::new(move |_| {
        ctx.reload.track();
        leptos::task::spawn_local(async move {
            match api::get_me().await {
                Ok(me) => {
                    failure.set(None);
                    ctx.me.set(Some(me));
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    });
    let nav_open = RwSignal::new(false);
    let location = use_location();
    // Close the mobile menu after navigating.
    Effect::new(move |_| {
        location.pathname.track();
        nav_open.set(false);
    });
    let sign_out = sign_out_to_sign_in_page();
    let children = StoredValue::new(children);
    let loaded = Memo::new(move |_| ctx.me.with(Option::is_some));
    view! {
        <a class="skip" href="#content">"Skip to content"</a>
        <header class="top">
            <button
                type="button"
                class="menu-toggle"
                aria-controls="nav"
                aria-expanded=move || nav_open.get().to_string()
                on:click=move |_| nav_open.update(|o| *o = !*o)
            >
                "Menu"
            </button>
            <A href="/connections" attr:class="brand">"Hubkeep"</A>
            <div class="who">
                {move || {
                    ctx.me
                        .get()
                        .map(|me| {
                            view! {
                                <span class="who-name" id="signed-in-user" data-user-id=me.user.id.to_string()>
                                    {me.user.display_name.clone()}
                                </span>
                                {access_badge(me.access_level)}
                            }
                        })
                }}
                <button
                    type="button"
                    class="secondary"
                    id="sign-out"
                    on:click=move |_| sign_out()
                >
                    "Sign out"
                </button>
            </div>
        </header>
        <div class="frame">
            <nav id="nav" aria-label="Main" class:open=move || nav_open.get()>
                <ul>
                    {move || {
                        let me = ctx.me.get();
                        NAV.iter()
                            .filter(|item| me.as_ref().is_some_and(|m| m.can(item.action)))
                            .map(|item| {
                                view! {
                                    <li>
                                        <A href=item.href attr:data-nav=item.href.trim_start_matches('/')>
                                            {item.label}
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                    {move || {
                        ctx.me
                            .get()
                            .map(|me| {
                                let pending = me.pending_invitations;
                                view! {
                                    <li>
                                        <A href="/invitations" attr:data-nav="invitations">
                                            "My invitations"
                                            {(pending > 0)
                                                .then(|| {
                                                    view! {
                                                        <span class="count" aria-label=format!("{pending} pending")>
                                                            {pending}
                                                        </span>
                                                    }
                                                })}
                                        </A>
                                    </li>
                                }
                            })
                    }}
                    <li>
                        <A href="/permissions" attr:data-nav="permissions">"Permissions"</A>
                    </li>
                </ul>
            </nav>
            <main id="content" tabindex="-1">
                <NoticeArea />
                // Only `loaded` is tracked once loaded: reloading `/me` never remounts the page.
                {move || {
                    if loaded.get() {
                        children.read_value()().into_any()
                    } else {
                        match failure.get() {
                            Some(e) => view! { <ErrorMessage error=e /> }.into_any(),
                            None => view! { <Loading what="your profile" /> }.into_any(),
                        }
                    }
                }}
            </main>
        </div>
    }
}
