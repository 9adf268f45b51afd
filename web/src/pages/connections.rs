//! (being written)

use leptos::prelude::*;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! { <p>"ConnectionsPage"</p> }
}
