//! (being written)

use leptos::prelude::*;

#[component]
pub fn TokensPage() -> impl IntoView {
    view! { <p>"TokensPage"</p> }
}
