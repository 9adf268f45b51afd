//! Hubkeep's admin console. It decides nothing about permissions itself: every button, tab
//! and menu item is shown from what the API says (`/me`'s hub actions, a connection's
//! `allowed_actions`, a user row's `actions`), using the shared crate's vocabulary.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::components::shell::Shell;
use crate::pages::signin::{SignIn, launch_in_url};

/// A page for the router as one type, `fn() -> AnyView`: the router's view-choosing code is
/// then compiled once instead of once per page (SPEC S16: the weight).
macro_rules! page {
    ($view:path) => {{
        fn page() -> AnyView {
            $view().into_any()
        }
        page as fn() -> AnyView
    }};
}

/// Pages whose code is a WASM module of its own, fetched the first time the page is shown
/// (SPEC S16: the weight; `scripts/build-web.sh` splits the build at these points). Each
/// `$page: $module, $view` becomes `$page::PAGE`, a `fn() -> AnyView` for the router; the
/// pages of one `$module` are fetched together. A module that cannot be fetched (the network, or a
/// deploy that replaced this build) shows a message with a reload, never a broken page.
macro_rules! lazy_pages {
    ($($page:ident: $module:ident, $view:path),* $(,)?) => {$(
        mod $page {
            use leptos::prelude::*;
            use leptos::wasm_split::SplitLoaderError;

            use crate::pages;

            #[leptos::wasm_split::wasm_split(
                $module,
                wasm_split_path = ::leptos::wasm_split,
                fallible
            )]
            fn $page() -> Result<AnyView, SplitLoaderError> {
                Ok($view().into_any())
            }

            /// The page for the router, as the one type every page has.
            pub const PAGE: fn() -> AnyView = page;

            fn page() -> AnyView {
                Suspend::new(async {
                    $page()
                        .await
                        .unwrap_or_else(|_| crate::components::error::PageLoadFailed().into_any())
                })
                .into_any()
            }
        }
    )*};
}

lazy_pages! {
    tenant_sign_in: sign_in_with_oidc, pages::oidc::TenantSignInPage,
    sign_in_complete: sign_in_with_oidc, pages::oidc::SignInCompletePage,
    connections: connections, pages::connections::ConnectionsPage,
    connection_overview: connections, pages::connection::OverviewTab,
    connection_members: connections, pages::connection::MembersTab,
    connection_sync: connections, pages::connection::SyncTab,
    connection_views: connections, pages::connection::ViewsTab,
    connection_settings: connections, pages::connection::SettingsTab,
    invitations: yours, pages::invitations::InvitationsPage,
    tokens: yours, pages::tokens::TokensPage,
    preferences: yours, pages::preferences::PreferencesPage,
    activity: activity, pages::activity::ActivityPage,
    activity_entry: activity, pages::activity::ActivityEntryPage,
    users: people, pages::users::UsersPage,
    permissions: people, pages::permissions::PermissionsPage,
    settings: administration, pages::settings::SettingsPage,
    sync_status: administration, pages::sync_status::SyncStatusPage,
    outbox: administration, pages::outbox::OutboxPage,
}

/// `/` and `/launch` (once signed in): the connections.
fn to_connections() -> impl IntoView {
    view! { <Redirect path="/connections" /> }
}

/// The application. The pages of a sign-in with OpenID Connect (`/t/{slug}`,
/// `/signin/complete`) stand alone, whether or not the tab holds a session; every other path
/// is the console: sign-in when there is no session, else the shell and its pages.
#[component]
pub fn App() -> impl IntoView {
    // A launch from the PSA replaces whatever session this tab had (one refused for carrying
    // its assertion in the query string too: the sign-in page says why).
    if launch_in_url().is_some() {
        api::drop_session(None);
    }
    let auth = api::init_auth();
    provide_context(auth);
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/t/:slug") view=tenant_sign_in::PAGE />
                <Route path=path!("/signin/complete") view=sign_in_complete::PAGE />
                <ParentRoute path=path!("") view=Console>
                    <Route path=path!("/") view=page!(to_connections) />
                    <Route path=path!("/launch") view=page!(to_connections) />
                    <Route path=path!("/connections") view=connections::PAGE />
                    // One connection, a tab per part (SPEC S16), each with its own address.
                    <ParentRoute path=path!("/connections/:id") view=pages::connection::ConnectionPage>
                        <Route path=path!("") view=connection_overview::PAGE />
                        <Route path=path!("/overview") view=connection_overview::PAGE />
                        <Route path=path!("/members") view=connection_members::PAGE />
                        <Route path=path!("/sync") view=connection_sync::PAGE />
                        <Route path=path!("/views") view=connection_views::PAGE />
                        <Route path=path!("/settings") view=connection_settings::PAGE />
                        <Route path=path!("/*any") view=page!(pages::connection::UnknownTab) />
                    </ParentRoute>
                    <Route path=path!("/invitations") view=invitations::PAGE />
                    <Route path=path!("/sync-status") view=sync_status::PAGE />
                    <Route path=path!("/activity") view=activity::PAGE />
                    <Route path=path!("/activity/:id") view=activity_entry::PAGE />
                    <Route path=path!("/users") view=users::PAGE />
                    <Route path=path!("/users/access") view=users::PAGE />
                    <Route path=path!("/settings") view=settings::PAGE />
                    <Route path=path!("/tokens") view=tokens::PAGE />
                    <Route path=path!("/preferences") view=preferences::PAGE />
                    <Route path=path!("/outbox") view=outbox::PAGE />
                    <Route path=path!("/permissions") view=permissions::PAGE />
                    // Routes are tried in order: an unknown path is the shell's "not found".
                    <Route path=path!("/*any") view=page!(pages::not_found::NotFound) />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Every path but the sign-in pages: sign-in without a session, else the shell around the
/// page (kept while the page changes).
#[component]
fn Console() -> impl IntoView {
    let auth = expect_context::<api::AuthState>();
    view! {
        <Show when=move || auth.signed_in.get() fallback=|| view! { <SignIn /> }>
            <Shell>
                <Outlet />
            </Shell>
        </Show>
    }
}
