//! (being written)

use leptos::prelude::*;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! { <p>"SettingsPage"</p> }
}
