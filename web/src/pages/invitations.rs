//! (being written)

use leptos::prelude::*;

#[component]
pub fn InvitationsPage() -> impl IntoView {
    view! { <p>"InvitationsPage"</p> }
}
