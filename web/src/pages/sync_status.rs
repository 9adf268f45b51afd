//! (being written)

use leptos::prelude::*;

#[component]
pub fn SyncStatusPage() -> impl IntoView {
    view! { <p>"SyncStatusPage"</p> }
}
