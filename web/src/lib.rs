//! Hubkeep's admin console. It decides nothing about permissions itself: it renders what the
//! API says, using the shared matrix types.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The application shell and its routes.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="top">
                <h1>"Hubkeep"</h1>
                <p>"Access plane of the accounting integration hub"</p>
            </header>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::permissions::PermissionsPage />
                    <Route path=path!("/permissions") view=pages::permissions::PermissionsPage />
                </Routes>
            </main>
        </Router>
    }
}
