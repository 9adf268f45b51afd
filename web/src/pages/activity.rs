//! (being written)

use leptos::prelude::*;

#[component]
pub fn ActivityPage() -> impl IntoView {
    view! { <p>"ActivityPage"</p> }
}

#[component]
pub fn ActivityEntryPage() -> impl IntoView {
    view! { <p>"ActivityEntryPage"</p> }
}
