//! (being written)

use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <p>"UsersPage"</p> }
}
