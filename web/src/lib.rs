//! Hubkeep's admin console. It decides nothing about permissions itself: every button, tab
//! and menu item is shown from what the API says (`/me`'s hub actions, a connection's
//! `allowed_actions`, a user row's `actions`), using the shared crate's vocabulary.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::components::shell::Shell;
use crate::pages::signin::{SignIn, launch_in_url};

/// The application: sign-in when there is no session, else the shell and its pages.
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
            <Show when=move || auth.signed_in.get() fallback=|| view! { <SignIn /> }>
                <Shell>
                    <Routes fallback=pages::not_found::NotFound>
                        <Route path=path!("/") view=|| view! { <Redirect path="/connections" /> } />
                        <Route path=path!("/launch") view=|| view! { <Redirect path="/connections" /> } />
                        <Route path=path!("/connections") view=pages::connections::ConnectionsPage />
                        <Route path=path!("/connections/:id") view=pages::connection::ConnectionPage />
                        <Route path=path!("/invitations") view=pages::invitations::InvitationsPage />
                        <Route path=path!("/sync-status") view=pages::sync_status::SyncStatusPage />
                        <Route path=path!("/activity") view=pages::activity::ActivityPage />
                        <Route path=path!("/activity/:id") view=pages::activity::ActivityEntryPage />
                        <Route path=path!("/users") view=pages::users::UsersPage />
                        <Route path=path!("/users/access") view=pages::users::UsersPage />
                        <Route path=path!("/settings") view=pages::settings::SettingsPage />
                        <Route path=path!("/tokens") view=pages::tokens::TokensPage />
                        <Route path=path!("/permissions") view=pages::permissions::PermissionsPage />
                    </Routes>
                </Shell>
            </Show>
        </Router>
    }
}
