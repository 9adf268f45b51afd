//! (being written)

use leptos::prelude::*;

#[component]
pub fn ConnectionPage() -> impl IntoView {
    view! { <p>"ConnectionPage"</p> }
}
