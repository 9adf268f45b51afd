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
                <Route path=path!("/t/:slug") view=page!(pages::oidc::TenantSignInPage) />
                <Route path=path!("/signin/complete") view=page!(pages::oidc::SignInCompletePage) />
                <ParentRoute path=path!("") view=Console>
                    <Route path=path!("/") view=page!(to_connections) />
                    <Route path=path!("/launch") view=page!(to_connections) />
                    <Route path=path!("/connections") view=page!(pages::connections::ConnectionsPage) />
                    // One connection, a tab per part (SPEC S16), each with its own address.
                    <ParentRoute path=path!("/connections/:id") view=pages::connection::ConnectionPage>
                        <Route path=path!("") view=page!(pages::connection::OverviewTab) />
                        <Route path=path!("/overview") view=page!(pages::connection::OverviewTab) />
                        <Route path=path!("/members") view=page!(pages::connection::MembersTab) />
                        <Route path=path!("/sync") view=page!(pages::connection::SyncTab) />
                        <Route path=path!("/views") view=page!(pages::connection::ViewsTab) />
                        <Route path=path!("/settings") view=page!(pages::connection::SettingsTab) />
                        <Route path=path!("/*any") view=page!(pages::connection::UnknownTab) />
                    </ParentRoute>
                    <Route path=path!("/invitations") view=page!(pages::invitations::InvitationsPage) />
                    <Route path=path!("/sync-status") view=page!(pages::sync_status::SyncStatusPage) />
                    <Route path=path!("/activity") view=page!(pages::activity::ActivityPage) />
                    <Route path=path!("/activity/:id") view=page!(pages::activity::ActivityEntryPage) />
                    <Route path=path!("/users") view=page!(pages::users::UsersPage) />
                    <Route path=path!("/users/access") view=page!(pages::users::UsersPage) />
                    <Route path=path!("/settings") view=page!(pages::settings::SettingsPage) />
                    <Route path=path!("/tokens") view=page!(pages::tokens::TokensPage) />
                    <Route path=path!("/preferences") view=page!(pages::preferences::PreferencesPage) />
                    <Route path=path!("/outbox") view=page!(pages::outbox::OutboxPage) />
                    <Route path=path!("/permissions") view=page!(pages::permissions::PermissionsPage) />
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
