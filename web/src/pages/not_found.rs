use leptos::prelude::*;

/// Shown for a client route the console does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h2>"Page not found"</h2>
        <p>"This page does not exist. " <a href="/">"Back to the start"</a></p>
    }
}
